# embed.cmake — turn the Functions library into a C source: the text with
# "@MC_LUA_VERSION@" replaced by the SHA-1 of the file, as a byte array
# (no quoting problems), plus its length and the version string.
file(READ ${IN} SRC)
file(SHA1 ${IN} VER)
string(REPLACE "@MC_LUA_VERSION@" "${VER}" SRC "${SRC}")
file(WRITE ${OUT}.txt "${SRC}")
file(READ ${OUT}.txt HEX HEX)
string(LENGTH "${HEX}" HEXLEN)
math(EXPR LEN "${HEXLEN} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
file(WRITE ${OUT} "/* generated from ${IN}: do not edit */\n#include <stddef.h>\n"
  "const char mc_lua_src[] = {${BYTES} 0};\n"
  "const size_t mc_lua_len = ${LEN};\n"
  "const char mc_lua_version[] = \"${VER}\";\n")
