/*
 * sm3.js — the SM3 hash (GB/T 32905-2016, GM/T 0004-2012) in plain JS, for
 * the 签名 page: the browser digests an SM2 holder's bid documents itself
 * (Web Crypto has no SM3) and sends only the digest.
 *
 *   window.mcSm3(bytes)          -> Uint8Array(32)   one call, whole input
 *   const h = window.mcSm3.create();
 *   h.update(bytes); ...; h.digest() -> Uint8Array(32)   in pieces (a large
 *                                                         file read by slices)
 *   window.mcSm3.hex(bytes)      -> 64 lower-case hex characters
 *
 * bytes: a Uint8Array (or an ArrayBuffer). Whole 64-byte blocks are
 * compressed straight from the caller's buffer; only a tail shorter than a
 * block is copied. Lengths are counted in bytes up to 2^53 (the bit length
 * written in the padding is exact for any file a browser can read).
 *
 * Non-goals: HMAC, SM3 of bit strings that are not whole bytes.
 */
'use strict';

(function () {
  const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
    0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];

  /* T_j <<< (j mod 32), precomputed for the 64 rounds. */
  const TJ = new Int32Array(64);
  for (let j = 0; j < 64; j++) {
    const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
    const r = j % 32;
    TJ[j] = r === 0 ? t : (t << r) | (t >>> (32 - r));
  }

  const W = new Int32Array(68);

  function rotl(x, n) {
    return (x << n) | (x >>> (32 - n));
  }

  /* Compress the 64-byte block of buf at off into the state v (Int32Array(8)). */
  function compress(v, buf, off) {
    for (let j = 0; j < 16; j++) {
      const p = off + 4 * j;
      W[j] = (buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3];
    }
    for (let j = 16; j < 68; j++) {
      const x = W[j - 16] ^ W[j - 9] ^ rotl(W[j - 3], 15);
      W[j] = (x ^ rotl(x, 15) ^ rotl(x, 23)) ^ rotl(W[j - 13], 7) ^ W[j - 6];
    }
    let a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    for (let j = 0; j < 64; j++) {
      const a12 = rotl(a, 12);
      const ss1 = rotl((a12 + e + TJ[j]) | 0, 7);
      const ss2 = ss1 ^ a12;
      let ff, gg;
      if (j < 16) {
        ff = a ^ b ^ c;
        gg = e ^ f ^ g;
      } else {
        ff = (a & b) | (a & c) | (b & c);
        gg = (e & f) | (~e & g);
      }
      const tt1 = (ff + d + ss2 + (W[j] ^ W[j + 4])) | 0;
      const tt2 = (gg + h + ss1 + W[j]) | 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      e = tt2 ^ rotl(tt2, 9) ^ rotl(tt2, 17);
    }
    v[0] ^= a; v[1] ^= b; v[2] ^= c; v[3] ^= d;
    v[4] ^= e; v[5] ^= f; v[6] ^= g; v[7] ^= h;
  }

  function asBytes(data) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    throw new TypeError('mcSm3: expected a Uint8Array or an ArrayBuffer');
  }

  function create() {
    const v = Int32Array.from(IV);
    const tail = new Uint8Array(64);
    let tailLen = 0;
    let total = 0; /* bytes */
    let done = false;

    function update(data) {
      if (done) throw new Error('mcSm3: digest() was already called');
      const buf = asBytes(data);
      let i = 0;
      const n = buf.length;
      total += n;
      if (tailLen > 0) {
        const take = Math.min(64 - tailLen, n);
        tail.set(buf.subarray(0, take), tailLen);
        tailLen += take;
        i = take;
        if (tailLen < 64) return api;
        compress(v, tail, 0);
        tailLen = 0;
      }
      for (; i + 64 <= n; i += 64) compress(v, buf, i);
      if (i < n) {
        tail.set(buf.subarray(i), 0);
        tailLen = n - i;
      }
      return api;
    }

    function digest() {
      if (done) throw new Error('mcSm3: digest() was already called');
      done = true;
      /* 0x80, zeros to 56 mod 64, then the bit length, 64-bit big-endian */
      const bitsHi = Math.floor(total / 0x20000000); /* total * 8 / 2^32 */
      const bitsLo = (total * 8) >>> 0;
      tail[tailLen++] = 0x80;
      if (tailLen > 56) {
        tail.fill(0, tailLen);
        compress(v, tail, 0);
        tailLen = 0;
      }
      tail.fill(0, tailLen, 56);
      tail[56] = bitsHi >>> 24; tail[57] = bitsHi >>> 16; tail[58] = bitsHi >>> 8; tail[59] = bitsHi;
      tail[60] = bitsLo >>> 24; tail[61] = bitsLo >>> 16; tail[62] = bitsLo >>> 8; tail[63] = bitsLo;
      compress(v, tail, 0);
      const out = new Uint8Array(32);
      for (let k = 0; k < 8; k++) {
        out[4 * k] = v[k] >>> 24;
        out[4 * k + 1] = v[k] >>> 16;
        out[4 * k + 2] = v[k] >>> 8;
        out[4 * k + 3] = v[k];
      }
      return out;
    }

    const api = { update, digest };
    return api;
  }

  function sm3(data) {
    return create().update(data).digest();
  }

  function hex(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }

  sm3.create = create;
  sm3.hex = hex;
  window.mcSm3 = Object.freeze(sm3);
})();
