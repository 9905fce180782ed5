//! Consistency of an expanded ML-DSA private key (RFC 9881 §6.3) without its seed.
//!
//! skDecode (FIPS 204 Algorithm 25) trusts its input, and `ml-dsa` offers no check, so this
//! recomputes what the key claims: s1 and s2 within ±η, t = NTT⁻¹(Â·NTT(s1)) + s2 split by
//! Power2Round into (t1, t0), the stored t0 equal to the computed one, and tr = H(pkEncode(ρ, t1)).
//! RFC 9881 Appendix C.4 publishes a key for each failure (a wrong tr, a wrong t0).
//! Verification-only arithmetic on public-size loops; it runs once, when a key is loaded.

use super::level::MlDsaLevel;
use shake::{ExtendableOutput, Update, XofReader};

const Q: i64 = 8_380_417;
const D: u32 = 13;
const N: usize = 256;

type Poly = [i64; N];

/// ζ^brv8(m) mod q for m = 0..256 (FIPS 204 §7.5, ζ = 1753).
fn zetas() -> [i64; N] {
    let mut z = [0i64; N];
    for (m, zm) in z.iter_mut().enumerate() {
        let e = (m as u8).reverse_bits();
        let mut acc = 1i64;
        for _ in 0..e {
            acc = acc * 1753 % Q;
        }
        *zm = acc;
    }
    z
}

/// FIPS 204 Algorithm 41.
fn ntt(w: &mut Poly, zetas: &[i64; N]) {
    let (mut m, mut len) = (0, 128);
    while len >= 1 {
        let mut start = 0;
        while start < N {
            m += 1;
            let z = zetas[m];
            for j in start..start + len {
                let t = z * w[j + len] % Q;
                w[j + len] = (w[j] - t).rem_euclid(Q);
                w[j] = (w[j] + t) % Q;
            }
            start += 2 * len;
        }
        len /= 2;
    }
}

/// FIPS 204 Algorithm 42.
fn ntt_inverse(w: &mut Poly, zetas: &[i64; N]) {
    let (mut m, mut len) = (N, 1);
    while len < N {
        let mut start = 0;
        while start < N {
            m -= 1;
            let z = Q - zetas[m];
            for j in start..start + len {
                let t = w[j];
                w[j] = (t + w[j + len]) % Q;
                w[j + len] = (t - w[j + len]).rem_euclid(Q) * z % Q;
            }
            start += 2 * len;
        }
        len *= 2;
    }
    for c in w.iter_mut() {
        *c = *c * 8_347_681 % Q; // 256⁻¹ mod q
    }
}

/// RejNTTPoly (FIPS 204 Algorithm 30) on ρ ‖ s ‖ r, as ExpandA (Algorithm 32) calls it.
fn rej_ntt_poly(rho: &[u8], s: u8, r: u8) -> Poly {
    let mut h = shake::Shake128::default();
    h.update(rho);
    h.update(&[s, r]);
    let mut xof = h.finalize_xof();
    let mut a = [0i64; N];
    let mut j = 0;
    let mut b = [0u8; 3];
    while j < N {
        xof.read(&mut b);
        let z = i64::from(b[0]) | i64::from(b[1]) << 8 | i64::from(b[2] & 0x7f) << 16;
        if z < Q {
            a[j] = z;
            j += 1;
        }
    }
    a
}

/// SimpleBitPack/BitUnpack read `bits` at a time, least significant bit first (FIPS 204 §7.1).
fn unpack(bytes: &[u8], bits: u32, count: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(count);
    let (mut acc, mut have) = (0u64, 0u32);
    for &byte in bytes {
        acc |= u64::from(byte) << have;
        have += 8;
        while have >= bits && out.len() < count {
            out.push((acc & ((1 << bits) - 1)) as u32);
            acc >>= bits;
            have -= bits;
        }
    }
    out
}

fn pack(values: &[u32], bits: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * bits as usize / 8);
    let (mut acc, mut have) = (0u64, 0u32);
    for &v in values {
        acc |= u64::from(v) << have;
        have += bits;
        while have >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            have -= 8;
        }
    }
    out
}

/// What is wrong with an expanded key, or `Ok` with the public key it implies.
pub(super) fn check(level: MlDsaLevel, sk: &[u8]) -> Result<Vec<u8>, &'static str> {
    let (k, l) = match level {
        MlDsaLevel::L44 => (4usize, 4usize),
        MlDsaLevel::L65 => (6, 5),
        MlDsaLevel::L87 => (8, 7),
    };
    if sk.len() != level.expanded_key_len() {
        return Err("wrong length");
    }
    let eta = i64::from(level.eta());
    let eta_bits = if eta == 2 { 3 } else { 4 };
    let (rho, rest) = sk.split_at(32);
    let tr = &rest[32..96];
    let s_len = (k + l) * N * eta_bits as usize / 8;
    let s_packed = &rest[96..96 + s_len];
    let t0_packed = &rest[96 + s_len..];

    let s: Vec<i64> = unpack(s_packed, eta_bits, (k + l) * N)
        .into_iter()
        .map(|v| eta - i64::from(v))
        .collect();
    if s.iter().any(|c| c.abs() > eta) {
        return Err("s1 or s2 outside ±η");
    }
    let (s1, s2) = s.split_at(l * N);
    let zetas = zetas();
    let s1_hat: Vec<Poly> = s1
        .chunks(N)
        .map(|c| {
            let mut p: Poly = [0; N];
            for (d, &v) in p.iter_mut().zip(c) {
                *d = v.rem_euclid(Q);
            }
            ntt(&mut p, &zetas);
            p
        })
        .collect();

    let stored_t0 = unpack(t0_packed, D, k * N);
    let mut t1 = Vec::with_capacity(k * N);
    for r in 0..k {
        let mut acc: Poly = [0; N];
        for (s_idx, sh) in s1_hat.iter().enumerate() {
            let a = rej_ntt_poly(rho, s_idx as u8, r as u8);
            for i in 0..N {
                acc[i] = (acc[i] + a[i] * sh[i]) % Q;
            }
        }
        ntt_inverse(&mut acc, &zetas);
        for i in 0..N {
            let t = (acc[i] + s2[r * N + i]).rem_euclid(Q);
            // Power2Round (Algorithm 35): t0 = t mod± 2^d, t1 = (t − t0) / 2^d.
            let mut t0 = t & ((1 << D) - 1);
            if t0 > 1 << (D - 1) {
                t0 -= 1 << D;
            }
            // skEncode stores 2^(d−1) − t0 in d bits (Algorithm 24).
            if i64::from(stored_t0[r * N + i]) != (1 << (D - 1)) - t0 {
                return Err("t0 does not match s1 and s2");
            }
            t1.push(((t - t0) >> D) as u32);
        }
    }
    // pkEncode (Algorithm 22): ρ ‖ t1 packed in 10 bits.
    let mut pk = rho.to_vec();
    pk.extend_from_slice(&pack(&t1, 10));
    let mut h = shake::Shake256::default();
    h.update(&pk);
    let mut want = [0u8; 64];
    h.finalize_xof().read(&mut want);
    if want[..] != tr[..] {
        return Err("tr is not the hash of the public key");
    }
    Ok(pk)
}
