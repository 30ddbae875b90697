# The dashboard compiled into tlsgate_admin (issue 14). Included by
# src/admin/CMakeLists.txt after it declares tlsgate_admin:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/dashboard/assets.cmake OPTIONAL)
# Generates dashboard_assets.cc (find_asset(), assets.h) in the build folder
# from index.html, app.js and style.css; editing any of them regenerates it.
# CMake only: no Node, no xxd.
set(tlsgate_dashboard_dir ${CMAKE_CURRENT_LIST_DIR})
set(tlsgate_dashboard_files
    ${tlsgate_dashboard_dir}/index.html
    ${tlsgate_dashboard_dir}/app.js
    ${tlsgate_dashboard_dir}/style.css)
set(tlsgate_dashboard_cc ${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.cc)

add_custom_command(
  OUTPUT ${tlsgate_dashboard_cc}
  COMMAND ${CMAKE_COMMAND} -DOUT=${tlsgate_dashboard_cc} -DDIR=${tlsgate_dashboard_dir}
          -P ${tlsgate_dashboard_dir}/embed_assets.cmake
  DEPENDS ${tlsgate_dashboard_files} ${tlsgate_dashboard_dir}/embed_assets.cmake
  COMMENT "Embedding the dashboard (index.html, app.js, style.css)"
  VERBATIM)

target_sources(tlsgate_admin PRIVATE ${tlsgate_dashboard_cc})
