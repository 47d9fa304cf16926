# Embeds files into the binary as byte arrays (no CDN, no files to ship beside the binary).
# embed_files(OUT_VAR NAME file1 [file2...]) generates a .cpp defining
#   const llmgate::EmbeddedFile* llmgate_embedded_<NAME>(size_t* count)
set(LLMGATE_EMBEDDED_SOURCES "")

function(llmgate_embed NAME BASE_DIR)
  set(out "${CMAKE_BINARY_DIR}/embedded_${NAME}.cpp")
  set(files ${ARGN})
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAME=${NAME} -DBASE_DIR=${BASE_DIR} "-DFILES=${files}"
            -P ${CMAKE_SOURCE_DIR}/cmake/EmbedGen.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/EmbedGen.cmake
    COMMENT "Embedding ${NAME} assets"
    VERBATIM)  # keeps the ;-separated file list one argument
  set(LLMGATE_EMBEDDED_SOURCES ${LLMGATE_EMBEDDED_SOURCES} "${out}" PARENT_SCOPE)
endfunction()

# The default price table (LiteLLM's public table, MIT).
llmgate_embed(prices "${CMAKE_SOURCE_DIR}/data" "${CMAKE_SOURCE_DIR}/data/model_prices_and_context_window.json")
# Dashboard assets: the hand-written sources in ui/src (no bundler) plus uPlot's prebuilt dist
# files from ui/node_modules (`npm ci` in ui/, lockfile committed), copied into the build tree
# and embedded from there. Nothing generated is committed.
set(LLMGATE_UI_DIST "${CMAKE_BINARY_DIR}/ui_dist")
set(LLMGATE_UPLOT_DIST "${CMAKE_SOURCE_DIR}/ui/node_modules/uplot/dist")
if(NOT EXISTS "${LLMGATE_UPLOT_DIST}/uPlot.iife.min.js")
  message(FATAL_ERROR "ui/node_modules is missing (the dashboard bundles the uPlot chart library "
    "from npm). Run:  (cd ${CMAKE_SOURCE_DIR}/ui && npm ci)  or  scripts/install-deps.sh")
endif()
file(GLOB_RECURSE LLMGATE_UI_SRC RELATIVE "${CMAKE_SOURCE_DIR}/ui/src" CONFIGURE_DEPENDS
  "${CMAKE_SOURCE_DIR}/ui/src/*.html" "${CMAKE_SOURCE_DIR}/ui/src/*.js" "${CMAKE_SOURCE_DIR}/ui/src/*.css"
  "${CMAKE_SOURCE_DIR}/ui/src/*.svg" "${CMAKE_SOURCE_DIR}/ui/src/*.png")
set(LLMGATE_UI_FILES "")
foreach(f IN LISTS LLMGATE_UI_SRC)
  configure_file("${CMAKE_SOURCE_DIR}/ui/src/${f}" "${LLMGATE_UI_DIST}/${f}" COPYONLY)
  list(APPEND LLMGATE_UI_FILES "${LLMGATE_UI_DIST}/${f}")
endforeach()
foreach(f uPlot.iife.min.js uPlot.min.css)
  configure_file("${LLMGATE_UPLOT_DIST}/${f}" "${LLMGATE_UI_DIST}/vendor/${f}" COPYONLY)
  list(APPEND LLMGATE_UI_FILES "${LLMGATE_UI_DIST}/vendor/${f}")
endforeach()
configure_file("${CMAKE_SOURCE_DIR}/ui/node_modules/uplot/LICENSE" "${LLMGATE_UI_DIST}/vendor/uPlot.LICENSE.txt" COPYONLY)
list(APPEND LLMGATE_UI_FILES "${LLMGATE_UI_DIST}/vendor/uPlot.LICENSE.txt")
llmgate_embed(ui "${LLMGATE_UI_DIST}" ${LLMGATE_UI_FILES})
