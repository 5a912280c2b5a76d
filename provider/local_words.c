/* provider/local_words.c — the local embedder's per-word features.
 *
 * A word's features depend on its bytes only: its stop-word verdict, its
 * character 3-, 4- and 5-grams of "<word>" (hashed, with their weight
 * 2 / sqrt(count)), its unigram hash and the prefix of any bigram it
 * starts. A scratch keeps them for each distinct word it has seen (the
 * word cache: an open-addressing table on the unigram hash over entries,
 * bytes and n-gram hashes held in three arenas), so text after text each
 * word is hashed once; the cache is emptied when it holds
 * WORD_CACHE_MAX_WORDS words, hashes or bytes, which bounds the scratch.
 * A one-shot scratch (local_embed_text) computes the word's features
 * without keeping them. The model these features belong to is described
 * in local.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/lexical.h"
#include "provider/local_internal.h"

/* Room for k more n-gram hashes in the word cache's arena. */
static uint64_t *hash_room(local_embed_scratch *ws, size_t k)
{
    if (ws->nwh + k > ws->capwh)
        ragd_array_grow((void **)&ws->whash, &ws->capwh, ws->nwh + k, sizeof *ws->whash);
    return ws->whash + ws->nwh;
}

/* The character n-grams of "<w>" (w = word bytes, wl bytes), hashed, in
 * order (3-, 4-, 5-gram at each start) at the end of ws->whash (not
 * counted in nwh: the caller keeps them); returns their number and *w_each
 * their weight. An n-gram's hash extends the one of the (n-1)-gram at the
 * same start (FNV-1a is one byte at a time), so the 3-, 4- and 5-grams at a
 * start share their prefix's work. */
static size_t chargrams_general(local_embed_scratch *ws, const char *w, size_t wl, double *w_each)
{
    ragd_buf *pad = &ws->pad;
    ragd_buf_reset(pad);
    ragd_buf_putc(pad, '<');
    ragd_buf_append(pad, w, wl);
    ragd_buf_putc(pad, '>');
    const char *p = pad->data;
    size_t pl = pad->len;

    /* Code point starts, plus the end offset. */
    ragd_array_grow((void **)&ws->offs, &ws->offs_cap, pl + 1, sizeof *ws->offs);
    size_t *offs = ws->offs, ncp = 0;
    for (size_t i = 0; i < pl; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80) offs[ncp++] = i;
    offs[ncp] = pl;

    size_t g = 0;
    for (size_t n = NGRAM_MIN; n <= NGRAM_MAX; n++)
        if (ncp >= n) g += ncp - n + 1;
    *w_each = 0;
    if (!g) return 0; /* cannot happen: "<x>" is already one 3-gram */
    *w_each = W_CHARGRAMS / sqrt((double)g);
    uint64_t *out = hash_room(ws, g);
    size_t k = 0;
    for (size_t i = 0; i + NGRAM_MIN <= ncp; i++) {
        uint64_t h = fnv_add(fnv_start(SEED_CHARGRAM), p + offs[i], offs[i + NGRAM_MIN] - offs[i]);
        out[k++] = ragd_fmix64(h);
        for (size_t n = NGRAM_MIN + 1; n <= NGRAM_MAX && i + n <= ncp; n++) {
            h = fnv_add(h, p + offs[i + n - 1], offs[i + n] - offs[i + n - 1]);
            out[k++] = ragd_fmix64(h);
        }
    }
    return k;
}

/* Words up to this many bytes take the ASCII path (with the brackets, in
 * a buffer on the stack). */
#define ASCII_WORD_MAX 62

/* chargrams_general for an all-ASCII word of at most ASCII_WORD_MAX
 * bytes: every byte is a code point, so the n-gram at start i is bytes
 * [i, i + n) of "<w>"; the same hashes, in the same order, without the
 * code point offsets. */
static size_t chargrams_ascii(local_embed_scratch *ws, const char *w, size_t wl, double *w_each)
{
    unsigned char p[ASCII_WORD_MAX + 2];
    p[0] = '<';
    memcpy(p + 1, w, wl);
    p[wl + 1] = '>';
    size_t pl = wl + 2, g = 0;
    for (size_t n = NGRAM_MIN; n <= NGRAM_MAX; n++)
        if (pl >= n) g += pl - n + 1;
    *w_each = W_CHARGRAMS / sqrt((double)g);
    uint64_t *out = hash_room(ws, g);
    uint64_t h0 = fnv_start(SEED_CHARGRAM);
    size_t i = 0, k = 0;
    for (; i + NGRAM_MAX <= pl; i++) { /* all three sizes */
        uint64_t h = fnv_byte(fnv_byte(fnv_byte(h0, p[i]), p[i + 1]), p[i + 2]);
        out[k++] = ragd_fmix64(h);
        h = fnv_byte(h, p[i + 3]);
        out[k++] = ragd_fmix64(h);
        h = fnv_byte(h, p[i + 4]);
        out[k++] = ragd_fmix64(h);
    }
    for (; i + NGRAM_MIN <= pl; i++) { /* the last starts: 3-grams (and a 4-gram) */
        uint64_t h = fnv_byte(fnv_byte(fnv_byte(h0, p[i]), p[i + 1]), p[i + 2]);
        out[k++] = ragd_fmix64(h);
        if (i + 4 <= pl) {
            h = fnv_byte(h, p[i + 3]);
            out[k++] = ragd_fmix64(h);
        }
    }
    return k;
}

static bool all_ascii(const char *s, size_t n)
{
    unsigned char o = 0;
    for (size_t i = 0; i < n; i++)
        o |= (unsigned char)s[i];
    return o < 0x80;
}

/* The character n-grams of "<w>": the ASCII path or the general one. */
static size_t chargrams(local_embed_scratch *ws, const char *w, size_t wl, double *w_each)
{
    if (wl <= ASCII_WORD_MAX && all_ascii(w, wl)) return chargrams_ascii(ws, w, wl, w_each);
    return chargrams_general(ws, w, wl, w_each);
}

/* Empty the word cache (its arrays stay allocated). */
static void word_cache_clear(local_embed_scratch *ws)
{
    if (ws->wtab) memset(ws->wtab, 0, ws->wtcap * sizeof *ws->wtab);
    ws->nwc = 0;
    ws->nwb = 0;
    ws->nwh = 0;
}

static void wtab_insert(local_embed_scratch *ws, uint32_t ei)
{
    size_t mask = ws->wtcap - 1, p = (size_t)ragd_fmix64(ws->wc[ei].hu) & mask;
    while (ws->wtab[p])
        p = (p + 1) & mask;
    ws->wtab[p] = ei + 1;
}

/* The entry of word w (wl > 0 bytes, whose unigram FNV chain is hu),
 * made on first sight (local_word_find, in local_internal.h, looks it up
 * first): its stop-word verdict, and unless it is a stop word its n-gram
 * hashes and weight, its unigram feature and its bigram prefix. */
const word_entry *local_word_add(local_embed_scratch *ws, const char *w, size_t wl, uint64_t hu)
{
    uint64_t key = ragd_fmix64(hu); /* FNV's low bits are weak: index on the mixed hash */
    if (ws->one_shot) {             /* one text: the word's features without keeping them */
        word_entry *x = &ws->one;
        *x = (word_entry){.hu = hu, .uh = key, .wl = (uint32_t)wl};
        x->stop = lexical_is_stopword_n(w, wl) != 0;
        if (!x->stop) {
            ws->nwh = 0;
            x->nh = (uint32_t)chargrams(ws, w, wl, &x->w_each);
            x->hp = fnv_add(fnv_start(SEED_BIGRAM), w, wl);
        }
        return x;
    }
    /* A new word (local_word_find did not find it): room first (emptying a full cache), then its
     * features. */
    if (ws->nwc >= WORD_CACHE_MAX_WORDS || ws->nwh >= WORD_CACHE_MAX_HASHES ||
        ws->nwb >= WORD_CACHE_MAX_BYTES)
        word_cache_clear(ws);
    if (2 * (ws->nwc + 1) > ws->wtcap) {
        free(ws->wtab);
        ws->wtcap = ws->wtcap ? 2 * ws->wtcap : 1024;
        ws->wtab = ragd_xcalloc(ws->wtcap, sizeof *ws->wtab);
        for (size_t i = 0; i < ws->nwc; i++)
            wtab_insert(ws, (uint32_t)i);
    }
    if (ws->nwc == ws->capwc)
        ragd_array_grow((void **)&ws->wc, &ws->capwc, ws->nwc + 1, sizeof *ws->wc);
    if (ws->nwb + wl > ws->capwb)
        ragd_array_grow((void **)&ws->wbytes, &ws->capwb, ws->nwb + wl, 1);
    word_entry *x = &ws->wc[ws->nwc];
    *x = (word_entry){.hu = hu,
                      .uh = key,
                      .boff = (uint32_t)ws->nwb,
                      .wl = (uint32_t)wl,
                      .hoff = (uint32_t)ws->nwh};
    memcpy(ws->wbytes + ws->nwb, w, wl);
    ws->nwb += wl;
    /* lexical_is_stopword_n is lexical_is_stopword on the bytes (no NUL
     * inside a word), with its quick rejections. */
    x->stop = lexical_is_stopword_n(w, wl) != 0;
    if (!x->stop) {
        x->nh = (uint32_t)chargrams(ws, w, wl, &x->w_each);
        ws->nwh += x->nh;
        x->hp = fnv_add(fnv_start(SEED_BIGRAM), w, wl);
    }
    wtab_insert(ws, (uint32_t)ws->nwc++);
    return x;
}

/* Copy word bytes into *dst (NUL-terminated), turning U+2019 into '\''. */
size_t local_copy_word(ragd_buf *dst, const char *s, size_t n)
{
    ragd_buf_reset(dst);
    ragd_buf_reserve(dst, n);
    if (!memchr(s, 0xE2, n)) { /* no U+2019: the bytes as they are */
        memcpy(dst->data, s, n);
        dst->data[n] = '\0';
        dst->len = n;
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && (unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x99) {
            ragd_buf_putc(dst, '\'');
            i += 2;
        } else {
            ragd_buf_putc(dst, s[i]);
        }
    }
    return dst->len;
}
