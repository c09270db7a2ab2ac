//! A fuzz target for the hand-written gzip decoder (`splice::block_decoder`) that runs on the stable toolchain: a
//! plain test binary (`harness = false`) drives proptest's runner for a time budget instead of a case count.
//!
//! Each input is real gzip (flate2 at a random level, with sync-flush points, header fields, one or two members,
//! trailing zeros), then mutated (bit flips, bytes set, cuts, insertions, copied spans), and fed in random piece
//! sizes. The oracle is flate2's decoder, member by member:
//!
//! - flate2 accepts exactly what ours accepts, and the bytes are the same; ours refuses with `Corrupt`, never an
//!   I/O error or a panic;
//! - every block start ours reports is re-checked: the stream cut there, aligned with an empty stored block and
//!   finished by a fresh deflate stream of the rest of the member (the splice's own recipe), must decode, by
//!   flate2, to the same bytes;
//! - the compressed bytes ours holds for its sink (`RawInput::bytes`, which the splice copies) are the input's.
//!
//! `NIXOS_IMAGES_FUZZ_SECONDS` sets the budget (default 5; CI runs 60), `NIXOS_IMAGES_FUZZ_SEED` replays a run. It
//! prints how many inputs it tried; a failure prints the shrunk input and is written to
//! `target/tmp/fuzz_block_decoder-failure.gz`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use anyhow::Result;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::{Compression, GzBuilder};
use nixos_images_cli::splice::bit_writer::align_with_empty_stored_block;
use nixos_images_cli::splice::block_decoder::{self, RawInput, Sink};
use nixos_images_cli::splice::Corrupt;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// How a gzip stream is made before it is mutated.
#[derive(Debug, Clone)]
struct Member {
    data_seed: u64,
    len: usize,
    level: u32,
    /// Uncompressed offsets where the encoder is sync-flushed (an empty stored block, a byte boundary).
    flushes: Vec<usize>,
    name: bool,
    comment: bool,
    extra: bool,
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit { at: usize, bit: u8 },
    SetByte { at: usize, value: u8 },
    Cut { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    CopySpan { from: usize, len: usize, to: usize },
}

#[derive(Debug, Clone)]
struct Case {
    members: Vec<Member>,
    trailing_zeros: usize,
    mutations: Vec<Mutation>,
    /// Sizes of the pieces the reader hands out, in turn.
    pieces: Vec<usize>,
}

fn member() -> impl Strategy<Value = Member> {
    let len = prop_oneof![4 => 0usize..4096, 2 => 0usize..70_000, 1 => 0usize..300_000];
    (any::<u64>(), len, 0u32..10, proptest::collection::vec(any::<usize>(), 0..3), any::<[bool; 3]>()).prop_map(
        |(data_seed, len, level, flushes, [name, comment, extra])| Member {
            data_seed,
            len,
            level,
            flushes: flushes.into_iter().map(|f| f % (len + 1)).collect(),
            name,
            comment,
            extra,
        },
    )
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        1 => any::<usize>().prop_map(|at| Mutation::Cut { at }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..64, any::<usize>()).prop_map(|(from, len, to)| Mutation::CopySpan { from, len, to }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(member(), 1..3),
        prop_oneof![3 => Just(0usize), 1 => 1usize..600],
        // A third of the inputs stay valid, so the block-boundary checks run often.
        prop_oneof![1 => Just(vec![]), 2 => proptest::collection::vec(mutation(), 1..4)],
        proptest::collection::vec(prop_oneof![1usize..16, 1usize..5000, Just(1 << 20)], 1..6),
    )
        .prop_map(|(members, trailing_zeros, mutations, pieces)| Case {
            members,
            trailing_zeros,
            mutations,
            pieces,
        })
}

fn gzip_member(m: &Member) -> Vec<u8> {
    let mut builder = GzBuilder::new();
    if m.name {
        builder = builder.filename("nixos-kexec-installer-x86_64-linux.tar");
    }
    if m.comment {
        builder = builder.comment("a comment");
    }
    if m.extra {
        builder = builder.extra(vec![1, 2, 3, 4, 5]);
    }
    let data = test_support::bytes::mixed(m.data_seed, m.len);
    let mut e: GzEncoder<Vec<u8>> = builder.write(Vec::new(), Compression::new(m.level));
    let mut flushes = m.flushes.clone();
    flushes.sort_unstable();
    let mut at = 0;
    for f in flushes {
        e.write_all(&data[at..f]).unwrap();
        e.flush().unwrap();
        at = f;
    }
    e.write_all(&data[at..]).unwrap();
    e.finish().unwrap()
}

fn input(case: &Case) -> Vec<u8> {
    let mut gz: Vec<u8> = case.members.iter().flat_map(gzip_member).collect();
    gz.extend(std::iter::repeat_n(0, case.trailing_zeros));
    for m in &case.mutations {
        if gz.is_empty() {
            break;
        }
        let n = gz.len();
        match m {
            Mutation::FlipBit { at, bit } => gz[at % n] ^= 1 << bit,
            Mutation::SetByte { at, value } => gz[at % n] = *value,
            Mutation::Cut { at } => gz.truncate(at % n),
            Mutation::Insert { at, bytes } => {
                let at = at % (n + 1);
                gz.splice(at..at, bytes.iter().copied());
            }
            Mutation::CopySpan { from, len, to } => {
                let from = from % n;
                let span = gz[from..(from + len).min(n)].to_vec();
                let to = to % n;
                let end = (to + span.len()).min(n);
                gz[to..end].copy_from_slice(&span[..end - to]);
            }
        }
    }
    gz
}

/// Hands out the input in the case's piece sizes, as a file or a pipe might.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    turn: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.sizes[self.turn % self.sizes.len()].min(buf.len()).min(self.data.len());
        self.turn += 1;
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A member as ours reported it.
#[derive(Debug, Default)]
struct ReportedMember {
    /// Offset of its data in the whole output.
    data_start: usize,
    data_end: usize,
    /// Input byte just after its trailer.
    end: usize,
    /// (input bit, offset of the block's data in the whole output).
    blocks: Vec<(u64, usize)>,
}

/// Records what ours reports and checks the held compressed bytes the way the splice uses them: the mark stays at
/// the current block's byte, and `RawInput::bytes` from there must be the input's bytes.
struct Recorder<'a> {
    input: &'a [u8],
    data: Vec<u8>,
    members: Vec<ReportedMember>,
    mark: u64,
    held_mismatch: Option<String>,
}

impl Sink for Recorder<'_> {
    fn member_start(&mut self, _: &mut RawInput, _: u64) -> Result<()> {
        self.members.push(ReportedMember { data_start: self.data.len(), ..ReportedMember::default() });
        Ok(())
    }

    fn block_start(&mut self, raw: &mut RawInput, bit: u64) -> Result<()> {
        let member = self.members.last_mut().expect("blocks come in a member");
        member.blocks.push((bit, self.data.len()));
        self.mark = bit / 8;
        raw.set_mark(self.mark);
        Ok(())
    }

    fn data(&mut self, raw: &mut RawInput, bytes: &[u8]) -> Result<()> {
        self.data.extend_from_slice(bytes);
        let bit = self.members.last().and_then(|m| m.blocks.last()).expect("data comes in a block").0;
        let (from, to) = (self.mark, bit / 8 + 1);
        if self.held_mismatch.is_none() && raw.bytes(from..to) != &self.input[from as usize..to as usize] {
            self.held_mismatch = Some(format!("held bytes {from}..{to} differ from the input"));
        }
        Ok(())
    }

    fn member_end(&mut self, raw: &mut RawInput, end: u64) -> Result<()> {
        let member = self.members.last_mut().expect("in a member");
        member.data_end = self.data.len();
        member.end = end as usize;
        self.mark = end;
        raw.set_mark(end);
        Ok(())
    }
}

/// flate2's verdict under our rules: one or more members, then nothing or zero bytes only.
fn flate2_decode(input: &[u8]) -> std::result::Result<Vec<u8>, String> {
    if input.first() != Some(&0x1f) {
        return Err("no gzip member at the start".into());
    }
    let mut rest = input;
    let mut out = Vec::new();
    loop {
        let mut d = flate2::bufread::GzDecoder::new(rest);
        d.read_to_end(&mut out).map_err(|e| e.to_string())?;
        if d.header().is_none() {
            return Err("no complete gzip header".into());
        }
        rest = d.into_inner();
        if rest.iter().all(|&b| b == 0) {
            return Ok(out);
        }
        if rest[0] == 0 {
            return Err("garbage after zero padding".into());
        }
    }
}

/// The splice's recipe at a reported block start: the stream up to that bit, an empty stored block to reach a
/// byte boundary, a fresh deflate stream of the rest of the member's data, the member's trailer, the input after
/// the member.
fn spliced_at(input: &[u8], data: &[u8], member: &ReportedMember, bit: u64, data_at: usize) -> Vec<u8> {
    let byte = (bit / 8) as usize;
    let mut out = input[..byte].to_vec();
    out.extend(align_with_empty_stored_block(input[byte], (bit % 8) as u32));
    let mut e = DeflateEncoder::new(out, Compression::new(1));
    e.write_all(&data[data_at..member.data_end]).unwrap();
    let mut out = e.finish().unwrap();
    let member_data = &data[member.data_start..member.data_end];
    let mut crc = crc32fast::Hasher::new();
    crc.update(member_data);
    out.extend(crc.finalize().to_le_bytes());
    out.extend((member_data.len() as u32).to_le_bytes());
    out.extend(&input[member.end..]);
    out
}

/// Block starts re-checked by splicing, over the whole run (printed at the end).
static SPLICES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn check(case: &Case) -> std::result::Result<(), TestCaseError> {
    let input = input(case);
    let mut rec = Recorder { input: &input, data: Vec::new(), members: Vec::new(), mark: 0, held_mismatch: None };
    let ours = block_decoder::decode(Pieces { data: &input, sizes: &case.pieces, turn: 0 }, &mut rec);
    let theirs = flate2_decode(&input);
    match (&ours, &theirs) {
        (Ok(len), Ok(data)) => {
            prop_assert_eq!(*len as usize, input.len(), "ours read all of the input");
            prop_assert!(
                rec.data == *data,
                "ours decodes other bytes than flate2 ({} vs {})",
                rec.data.len(),
                data.len()
            );
        }
        (Err(e), _) if e.downcast_ref::<Corrupt>().is_none() => {
            return Err(TestCaseError::fail(format!("ours failed without saying the input is corrupt: {e:#}")));
        }
        (Err(_), Err(_)) => return Ok(()),
        (Ok(_), Err(e)) => return Err(TestCaseError::fail(format!("ours accepts what flate2 refuses: {e}"))),
        (Err(e), Ok(_)) => return Err(TestCaseError::fail(format!("ours refuses what flate2 accepts: {e:#}"))),
    }
    if let Some(m) = rec.held_mismatch {
        return Err(TestCaseError::fail(m));
    }
    // Re-check block starts: all of them in small streams, a few spread over the others.
    for member in &rec.members {
        let step = (member.blocks.len() / 4).max(1);
        for &(bit, data_at) in member.blocks.iter().step_by(step) {
            let spliced = spliced_at(&input, &rec.data, member, bit, data_at);
            SPLICES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match flate2_decode(&spliced) {
                Ok(d) => prop_assert!(d == rec.data, "spliced at bit {} decodes to other bytes", bit),
                Err(e) => return Err(TestCaseError::fail(format!("spliced at bit {bit}, flate2 refuses it: {e}"))),
            }
        }
    }
    Ok(())
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.parse().unwrap_or_else(|_| panic!("{name}={value} is not a whole number")))
}

fn main() {
    // `cargo test NAME` passes its filter to every test binary: run only when it could mean this one.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(filter) = args.iter().find(|a| !a.starts_with('-')) {
        if !"fuzz_block_decoder".contains(filter.as_str()) {
            return;
        }
    }
    let budget = Duration::from_secs(env_number("NIXOS_IMAGES_FUZZ_SECONDS").unwrap_or(5));
    let seed = env_number("NIXOS_IMAGES_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("a clock after 1970").as_nanos()
            as u64
    });
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed.to_le_bytes(), [0; 8], [0; 8], [0; 8]].concat());
    let mut runner = TestRunner::new_with_rng(Config { failure_persistence: None, ..Config::default() }, rng);
    let strategy = case();
    let (start, mut tried, mut valid) = (Instant::now(), 0u64, 0u64);
    while start.elapsed() < budget {
        let tree = strategy.new_tree(&mut runner).expect("the strategy always generates");
        if tree.current().mutations.is_empty() {
            valid += 1;
        }
        if let Err(e) = runner.run_one(tree, |case| check(&case)) {
            if let proptest::test_runner::TestError::Fail(why, case) = &e {
                let path = concat!(env!("CARGO_TARGET_TMPDIR"), "/fuzz_block_decoder-failure.gz");
                std::fs::write(path, input(case)).expect("writing the failing input");
                eprintln!("fuzz_block_decoder: {why}\nshrunk case: {case:?}\ninput written to {path}");
            }
            eprintln!("fuzz_block_decoder: FAILED after {tried} inputs (NIXOS_IMAGES_FUZZ_SEED={seed} replays it)");
            std::process::exit(1);
        }
        tried += 1;
    }
    println!(
        "fuzz_block_decoder: {tried} inputs ({valid} unmutated, {} block starts spliced at) in {:.1} s, no difference \
         from flate2 (seed {seed})",
        SPLICES.load(std::sync::atomic::Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
}
