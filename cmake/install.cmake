# `cmake --install`: headers (source layout, under include/flowrt), generated proto headers,
# libflowrt.so + libflowrt_proto.a, and flowrtConfig.cmake so that
#   find_package(flowrt CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE flowrt::flowrt)
# works. tests/install/ builds a tiny out-of-tree job against an installed copy.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FLOWRT_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/flowrt)
set(FLOWRT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/flowrt)

install(TARGETS flowrt flowrt_proto EXPORT flowrtTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${FLOWRT_INSTALL_INCLUDEDIR})
foreach(dir graph runtime ops checkpoint data jobs)
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/ DESTINATION ${FLOWRT_INSTALL_INCLUDEDIR}/${dir}
          FILES_MATCHING PATTERN "*.h")
endforeach()
install(DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/proto/ DESTINATION ${FLOWRT_INSTALL_INCLUDEDIR}/proto
        FILES_MATCHING PATTERN "*.pb.h")
install(EXPORT flowrtTargets NAMESPACE flowrt:: DESTINATION ${FLOWRT_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/flowrtConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/flowrtConfig.cmake
                              INSTALL_DESTINATION ${FLOWRT_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/flowrtConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/flowrtConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/flowrtConfigVersion.cmake
        DESTINATION ${FLOWRT_INSTALL_CMAKEDIR})
