/* fuzz/fuzz_chunk_semantic.c — the semantic chunker over a parsed document, sized by
 * the input's first bytes; fuzz_chunk (fuzz_util.c) states the properties
 * checked for every chunk. */
#include "fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_chunk(data, size, "semantic");
    return 0;
}
