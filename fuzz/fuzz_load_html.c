/* fuzz/fuzz_load_html.c — the html loader: ingest_parse(input, "html") must
 * give a document whose properties fuzz_check_doc verifies (text valid
 * UTF-8, blocks and sections in order and in bounds, capped heading paths
 * and title), or fail with RAGD_EINPUT / RAGD_ENOTFOUND and a message. */
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
    fuzz_load(data, size, "html");
    return 0;
}
