//! Test data: deterministic bytes with the redundancy real archives have (for the gzip decoder's tests and its
//! fuzz target).

/// Data with every kind of redundancy: text, runs, random bytes, repeats from up to the window's distance.
pub fn mixed(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        match rand() % 5 {
            0 => v.extend((0..rand() % 3000).map(|_| rand() as u8)),
            1 => v.extend(std::iter::repeat_n(rand() as u8, (rand() % 2000) as usize)),
            2 => v.extend_from_slice(b"init=\"/nix/store/abc-nixos-system/init\" kernelParams=\"console=ttyS0\"\n"),
            3 if !v.is_empty() => {
                let start = v.len() - 1 - (rand() as usize % v.len().min(32768));
                for i in 0..(rand() % 600) as usize {
                    v.push(v[start + i % (v.len() - start)]);
                }
            }
            _ => v.extend((0..rand() % 500).map(|_| b"abcdefgh "[(rand() % 9) as usize])),
        }
    }
    v.truncate(len);
    v
}
