// bench/langchain/split.mjs — the LangChain JS baseline for bench/bench_chunk.
//
// Chunks the texts bench_chunk wrote (a JSONL file: one JSON string per line,
// the exact normalized document texts ragd's chunkers see) with
// @langchain/textsplitters' RecursiveCharacterTextSplitter, in two modes:
//
//   chars   chunkSize/chunkOverlap in characters (LangChain's default length
//           function, text.length): the sizes bench_chunk passes, i.e. ragd's
//           token settings times the corpus's characters per ragd token;
//   tokens  chunkSize/chunkOverlap in ragd tokens: a lengthFunction that
//           re-implements ragd's approximate token count (core/text.h
//           text_count_tokens) with a Unicode regex.
//
// Only splitting is timed (process.hrtime.bigint around the loop over all
// texts, and process.cpuUsage for its CPU seconds); reading the file, JSON
// parsing and the chunk statistics are not.
//
// Two ways to run it:
//   node split.mjs --texts FILE [sizes] --serve
//       prints {"ready":...} and then, for each line "chars" or "tokens"
//       (optionally followed by FROM TO, a range of text indexes) on stdin,
//       one timed pass over those texts (default all) as a JSON line;
//       "quit" ends.
//       bench_chunk drives it like this so ragd and LangChain passes
//       interleave in one run, with V8's JIT warm on both.
//   node split.mjs --texts FILE [sizes] [--reps N]
//       standalone: a warm-up pass and N timed passes per mode, one JSON
//       object with every pass.
// sizes: --chunk-chars N --overlap-chars N --chunk-tokens N --overlap-tokens N
import {readFileSync} from "node:fs";
import {createInterface} from "node:readline";
import {RecursiveCharacterTextSplitter} from "@langchain/textsplitters";

function parseArgs(argv)
{
    const o = {
        texts : null,
        chunkChars : 1000,
        overlapChars : 125,
        chunkTokens : 256,
        overlapTokens : 32,
        reps : 3,
        serve : false,
    };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        const v = argv[i + 1];
        if (a === "--serve")
            o.serve = true;
        else if (a === "--texts")
            (o.texts = v), i++;
        else if (a === "--chunk-chars")
            (o.chunkChars = Number(v)), i++;
        else if (a === "--overlap-chars")
            (o.overlapChars = Number(v)), i++;
        else if (a === "--chunk-tokens")
            (o.chunkTokens = Number(v)), i++;
        else if (a === "--overlap-tokens")
            (o.overlapTokens = Number(v)), i++;
        else if (a === "--reps")
            (o.reps = Number(v)), i++;
        else {
            process.stderr.write(`split.mjs: unknown option ${a}\n`);
            process.exit(2);
        }
    }
    if (!o.texts) {
        process.stderr.write("usage: node split.mjs --texts FILE [--serve | --reps N]\n");
        process.exit(2);
    }
    return o;
}

// ragd's approximate token count (core/text.h): a word of k code points
// (letters, marks, digits; internal apostrophes and digit separators
// joined) counts 1 + floor((k-1)/6); each CJK ideograph, kana or hangul
// syllable 1; any other non-space character 1; whitespace 0.
const TOKEN_RE =
    /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[\p{L}\p{M}\p{N}]+(?:(?:['\u2019]|(?<=\p{N})[.,](?=\p{N}))[\p{L}\p{M}\p{N}]+)*|\S/gu;

export function ragdTokens(text)
{
    let n = 0;
    for (const m of text.matchAll(TOKEN_RE)) {
        const s = m[0];
        if (s.length === 1) {
            n += 1;
            continue;
        }
        let k = 0;
        for (const _ of s)
            k++; // code points
        n += 1 + Math.floor((k - 1) / 6);
    }
    return n;
}

function splitter(o, mode)
{
    if (mode === "chars")
        return new RecursiveCharacterTextSplitter({
            chunkSize : o.chunkChars,
            chunkOverlap : o.overlapChars,
        });
    return new RecursiveCharacterTextSplitter({
        chunkSize : o.chunkTokens,
        chunkOverlap : o.overlapTokens,
        lengthFunction : ragdTokens,
    });
}

async function pass(texts, sp, from = 0, to = texts.length)
{
    const out = new Array(to - from);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = from; i < to; i++)
        out[i - from] = await sp.splitText(texts[i]);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0); // user + system microseconds, all threads (GC too)
    return {secs, cpu : (c.user + c.system) / 1e6, out};
}

const statsCache = new Map();
function stats(mode, out)
{
    if (statsCache.has(mode)) return statsCache.get(mode);
    let chunks = 0, chars = 0, bytes = 0, tokens = 0, maxTokens = 0;
    for (const list of out)
        for (const c of list) {
            chunks++;
            chars += c.length;
            bytes += Buffer.byteLength(c, "utf8");
            const t = ragdTokens(c);
            tokens += t;
            if (t > maxTokens) maxTokens = t;
        }
    const s = {
        chunks,
        chunk_chars : chars,
        chunk_bytes : bytes,
        chunk_tokens : tokens,
        max_chunk_tokens : maxTokens
    };
    statsCache.set(mode, s);
    return s;
}

async function main()
{
    const o = parseArgs(process.argv);
    const texts =
        readFileSync(o.texts, "utf8").split("\n").filter((l) => l.length).map((l) => JSON.parse(l));
    let chars = 0, bytes = 0;
    for (const t of texts) {
        chars += t.length;
        bytes += Buffer.byteLength(t, "utf8");
    }
    const sizes = {
        chunk_chars : o.chunkChars,
        overlap_chars : o.overlapChars,
        chunk_tokens : o.chunkTokens,
        overlap_tokens : o.overlapTokens,
    };
    const sps = {chars : splitter(o, "chars"), tokens : splitter(o, "tokens")};
    const info = {
        node : process.version,
        textsplitters :
            JSON.parse(
                    readFileSync(new URL("./node_modules/@langchain/textsplitters/package.json",
                                         import.meta.url),
                                 "utf8"),
                    )
                .version,
        docs : texts.length,
        chars,
        bytes,
        ...sizes,
    };

    if (o.serve) {
        info.tokens = texts.reduce((n, t) => n + ragdTokens(t), 0);
        process.stdout.write(JSON.stringify({ready : true, ...info}) + "\n");
        const rl = createInterface({input : process.stdin});
        for await (const line of rl) {
            const [mode, a, b] = line.trim().split(/\s+/);
            if (mode === "quit" || mode === "") break;
            if (!sps[mode]) {
                process.stdout.write(JSON.stringify({error : `unknown mode ${mode}`}) + "\n");
                continue;
            }
            const from = a === undefined ? 0 : Number(a);
            const to = b === undefined ? texts.length : Math.min(Number(b), texts.length);
            const {secs, cpu, out} = await pass(texts, sps[mode], from, to);
            // Chunk statistics only for a whole pass (and once per mode).
            const st = from === 0 && to === texts.length ? stats(mode, out) : {};
            process.stdout.write(
                JSON.stringify({mode, from, to, seconds : secs, cpu_seconds : cpu, ...st}) + "\n");
        }
        return;
    }

    const result = {...info, modes : {}};
    for (const mode of ["chars", "tokens"]) {
        await pass(texts, sps[mode]); // warm-up
        const secs = [];
        let last;
        for (let r = 0; r < o.reps; r++) {
            const p = await pass(texts, sps[mode]);
            secs.push(p.secs);
            last = p.out;
        }
        const sorted = [...secs ].sort((a, b) => a - b);
        result.modes[mode] = {
            seconds : secs,
            best : sorted[0],
            median : sorted[Math.floor(sorted.length / 2)],
            mb_per_s_best : bytes / 1048576 / sorted[0],
            ...stats(mode, last),
        };
    }
    process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}

main().catch((e) => {
    process.stderr.write(`split.mjs: ${e.stack || e}\n`);
    process.exit(1);
});
