# Turn a file into a NUL-terminated C byte array: cmake -DSRC= -DOUT= -DSYM= -P embed.cmake
# Used for files compiled into the binary (the OpenAPI document, prompts, the web UI).
file(READ "${SRC}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
file(WRITE "${OUT}" "/* generated from ${SRC}; do not edit */\nconst char ${SYM}[] = {${hex}0x00};\n")
