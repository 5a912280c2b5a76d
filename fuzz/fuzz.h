/* fuzz/fuzz.h — what every fuzz target in fuzz/ shares.
 *
 * Each fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput (and, when it needs
 * a fixture such as a store or a local server, LLVMFuzzerInitialize) and is
 * built two ways (fuzz/CMakeLists.txt):
 *   - with clang and -fsanitize=fuzzer,address,undefined (-DRAGD_FUZZ=ON,
 *     `make fuzz`): libFuzzer's main explores inputs;
 *   - in every other build, with fuzz/driver.c's main(), which feeds each
 *     seed file of fuzz/corpus/<name>/ to the target once: the "fuzz smoke"
 *     CTest (fuzz_smoke_<name>), also under `make asan`.
 *
 * A target checks properties of the code's output, not only that nothing
 * crashes: FUZZ_CHECK aborts (a crash libFuzzer records with its input) when
 * a documented property does not hold.
 *
 * Fixtures made in LLVMFuzzerInitialize live for the process (a fuzz run is
 * one process); they are released by the operating system at exit.
 */
#ifndef RAGD_FUZZ_FUZZ_H
#define RAGD_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with a message naming the property when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A fresh private directory under $TMPDIR (or /tmp) for a target's fixture,
 * removed at exit (malloc'd path). Aborts when it cannot be made. */
char *fuzz_tmpdir(const char *name);

/* Quiet ragd's warning log lines (loaders and the pipeline log what they
 * skip; at tens of thousands of inputs a second that is noise). */
void fuzz_quiet_logs(void);

/* Check the documented properties of a parsed document (ingest/ingest.h):
 * text valid UTF-8 of d->len bytes, NUL-terminated; blocks within the text,
 * in order, naming existing sections; sections in order; heading paths and
 * the title within their caps (INGEST_*_MAX plus the 3-byte "…"); page
 * starts ascending from 0. Aborts on a violation. */
void fuzz_check_doc(const void *ingest_doc_ptr);

/* ingest_parse(data, format) and, when it succeeds, fuzz_check_doc; any
 * failure must be RAGD_EINPUT or RAGD_ENOTFOUND with a message. The loader
 * targets are this one call. */
void fuzz_load(const uint8_t *data, size_t size, const char *format);

/* The chunker targets: input byte 0 sets the chunk size (1..128 tokens),
 * byte 1 the overlap / window / parent size, byte 2 the format (md or txt);
 * the rest is the document. `chunker` is "fixed", "semantic" or "parent".
 * Checked for every chunk: in bounds, non-empty, valid UTF-8 at both ends,
 * tokens == text_count_tokens(slice) and within the size unless the chunk
 * is one grapheme, starts and ends strictly increasing, no overlap when
 * none was asked for, and (parent) inside its parent. */
void fuzz_chunk(const uint8_t *data, size_t size, const char *chunker);

#endif
