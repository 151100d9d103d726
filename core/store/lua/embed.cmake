# embed.cmake — turn the Functions library into a C source. The library is
# ONE Redis Functions library ("#!lua name=mcert") made of several files:
# mcert.lua first (the header line, the shared helpers, the core
# transitions and its registry), then every other *.lua here in name order,
# one per capability, each with its own registry lines at its end (a file
# sees the locals of those before it). IN is the list of files separated by
# "|". The text, with "@MC_LUA_VERSION@" replaced by the SHA-1 of the whole,
# becomes a byte array (no quoting problems), plus its length and the
# version string.
string(REPLACE "|" ";" FILES "${IN}")
set(SRC "")
foreach(f ${FILES})
  file(READ ${f} PART)
  get_filename_component(name ${f} NAME)
  string(APPEND SRC "${PART}")
  if(NOT SRC MATCHES "\n$")
    string(APPEND SRC "\n")
  endif()
endforeach()
string(SHA1 VER "${SRC}")
string(REPLACE "@MC_LUA_VERSION@" "${VER}" SRC "${SRC}")
file(WRITE ${OUT}.txt "${SRC}")
file(READ ${OUT}.txt HEX HEX)
string(LENGTH "${HEX}" HEXLEN)
math(EXPR LEN "${HEXLEN} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
file(WRITE ${OUT} "/* generated from the files of core/store/lua: do not edit */\n#include <stddef.h>\n"
  "const char mc_lua_src[] = {${BYTES} 0};\n"
  "const size_t mc_lua_len = ${LEN};\n"
  "const char mc_lua_version[] = \"${VER}\";\n")
