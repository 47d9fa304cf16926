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
    COMMENT "Embedding ${NAME} assets")
  set(LLMGATE_EMBEDDED_SOURCES ${LLMGATE_EMBEDDED_SOURCES} "${out}" PARENT_SCOPE)
endfunction()

# The default price table (LiteLLM's public table, MIT).
llmgate_embed(prices "${CMAKE_SOURCE_DIR}/data" "${CMAKE_SOURCE_DIR}/data/model_prices_and_context_window.json")
# Dashboard assets (ui/dist is built from ui/ sources; see ui/README.md).
file(GLOB_RECURSE LLMGATE_UI_FILES CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/ui/dist/*")
llmgate_embed(ui "${CMAKE_SOURCE_DIR}/ui/dist" ${LLMGATE_UI_FILES})
