# `cmake --install`: libflowrt.so, the `flowrt` CLI, the public headers (source layout, under
# include/flowrt) and flowrtConfig.cmake, so that
#   find_package(flowrt CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE flowrt::flowrt)
# works. The public headers are what a job author includes — graph/flow.h, graph/checkpoint.h,
# data/mnist.h — and everything they include; none of them includes a protobuf or oneDNN header
# (the job IR and the kernels stay inside the library), so consumers need Abseil only.
# tests/install/install_test.sh proves it: every installed header compiles with no protobuf or
# oneDNN header reachable, and the README's MLP builds and runs against an installed copy.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FLOWRT_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/flowrt)
set(FLOWRT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/flowrt)

set(FLOWRT_PUBLIC_HEADERS
    graph/flow.h graph/checkpoint.h graph/get_variable.h graph/global_function.h
    graph/initializer.h graph/layers.h graph/math_ops.h graph/nn.h graph/optimizer.h
    graph/predictor.h graph/scope.h graph/session.h graph/watch.h
    framework/blob.h
    runtime/dtype.h runtime/openmp_wait_policy.h runtime/shape.h runtime/status.h runtime/tensor.h
    checkpoint/snapshot_reader.h checkpoint/checksum_file.h checkpoint/meta_file.h
    data/mnist.h
    deploy/onnx_export.h)

install(TARGETS flowrt flowrt_onnx EXPORT flowrtTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${FLOWRT_INSTALL_INCLUDEDIR})
foreach(header ${FLOWRT_PUBLIC_HEADERS})
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${header} DESTINATION ${FLOWRT_INSTALL_INCLUDEDIR}/${dir})
endforeach()
install(EXPORT flowrtTargets NAMESPACE flowrt:: DESTINATION ${FLOWRT_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/flowrtConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/flowrtConfig.cmake
                              INSTALL_DESTINATION ${FLOWRT_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/flowrtConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/flowrtConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/flowrtConfigVersion.cmake
        DESTINATION ${FLOWRT_INSTALL_CMAKEDIR})
