//! MP3 encoding with the system's LAME (`libmp3lame0`, linked dynamically).
//!
//! Written by hand on purpose: the one maintained Rust wrapper (`mp3lame-encoder`/`mp3lame-sys`)
//! only builds a bundled LAME statically, which would link LGPL code into our Apache-2.0 binary.
//! Ten C functions are all we need, so we bind them ourselves against Debian's shared library.
//!
//! Recordings are telephone audio (8 kHz mono from Asterisk); they are written as 16 kHz mono
//! MPEG-2 Layer III at 32 kbit/s: every browser and player reads it (8 kHz output would be
//! MPEG-2.5, a non-standard extension), and it costs 240 KB a minute.

// The one place with unsafe code in the workspace (the lint is `deny` everywhere else).
#![allow(unsafe_code)]
use std::os::raw::{c_int, c_short, c_uchar};

#[repr(C)]
struct LameGlobalFlags {
    _private: [u8; 0],
}

#[link(name = "mp3lame")]
extern "C" {
    fn lame_init() -> *mut LameGlobalFlags;
    fn lame_set_in_samplerate(gfp: *mut LameGlobalFlags, rate: c_int) -> c_int;
    fn lame_set_out_samplerate(gfp: *mut LameGlobalFlags, rate: c_int) -> c_int;
    fn lame_set_num_channels(gfp: *mut LameGlobalFlags, n: c_int) -> c_int;
    fn lame_set_mode(gfp: *mut LameGlobalFlags, mode: c_int) -> c_int;
    fn lame_set_brate(gfp: *mut LameGlobalFlags, kbps: c_int) -> c_int;
    fn lame_set_quality(gfp: *mut LameGlobalFlags, q: c_int) -> c_int;
    fn lame_set_bWriteVbrTag(gfp: *mut LameGlobalFlags, on: c_int) -> c_int;
    fn lame_init_params(gfp: *mut LameGlobalFlags) -> c_int;
    fn lame_encode_buffer(
        gfp: *mut LameGlobalFlags,
        left: *const c_short,
        right: *const c_short,
        nsamples: c_int,
        out: *mut c_uchar,
        out_size: c_int,
    ) -> c_int;
    fn lame_encode_flush(gfp: *mut LameGlobalFlags, out: *mut c_uchar, out_size: c_int) -> c_int;
    fn lame_close(gfp: *mut LameGlobalFlags) -> c_int;
}

/// LAME's `MPEG_mode` value for mono.
const MONO: c_int = 3;

/// Output sample rate of recordings.
pub const OUT_RATE: u32 = 16_000;
/// Constant bit rate of recordings, kbit/s.
pub const KBPS: u32 = 32;

#[derive(Debug, thiserror::Error)]
pub enum Mp3Error {
    #[error("the mp3 encoder could not start (code {0})")]
    Init(i32),
    #[error("the mp3 encoder failed (code {0})")]
    Encode(i32),
}

/// Owns one LAME encoder; freed on drop.
struct Lame(*mut LameGlobalFlags);

impl Drop for Lame {
    fn drop(&mut self) {
        // SAFETY: the pointer came from lame_init and is closed exactly once.
        unsafe { lame_close(self.0) };
    }
}

/// Encodes mono 16-bit PCM at `rate` Hz as a 16 kHz mono CBR mp3.
pub fn encode_mono(samples: &[i16], rate: u32) -> Result<Vec<u8>, Mp3Error> {
    // SAFETY: plain C calls on an encoder we own; every buffer passed is valid for the length given
    // (LAME's documented worst case for the output: 1.25 × samples + 7200 bytes).
    unsafe {
        let gfp = lame_init();
        if gfp.is_null() {
            return Err(Mp3Error::Init(-1));
        }
        let lame = Lame(gfp);
        lame_set_in_samplerate(lame.0, rate as c_int);
        lame_set_out_samplerate(lame.0, OUT_RATE as c_int);
        lame_set_num_channels(lame.0, 1);
        lame_set_mode(lame.0, MONO);
        lame_set_brate(lame.0, KBPS as c_int);
        lame_set_quality(lame.0, 5);
        lame_set_bWriteVbrTag(lame.0, 0);
        let rc = lame_init_params(lame.0);
        if rc < 0 {
            return Err(Mp3Error::Init(rc));
        }
        // Upsampling 8 → 16 kHz doubles the frames the encoder produces: size for the output rate.
        let scale = (OUT_RATE as usize).div_ceil(rate.max(1) as usize).max(1);
        let mut out = Vec::with_capacity(samples.len() / 4 + 8192);
        const CHUNK: usize = 8192;
        let mut buf = vec![0u8; CHUNK * scale * 5 / 4 + 7200];
        for chunk in samples.chunks(CHUNK) {
            let n = lame_encode_buffer(
                lame.0,
                chunk.as_ptr(),
                chunk.as_ptr(),
                chunk.len() as c_int,
                buf.as_mut_ptr(),
                buf.len() as c_int,
            );
            if n < 0 {
                return Err(Mp3Error::Encode(n));
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        let n = lame_encode_flush(lame.0, buf.as_mut_ptr(), buf.len() as c_int);
        if n < 0 {
            return Err(Mp3Error::Encode(n));
        }
        out.extend_from_slice(&buf[..n as usize]);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{decode_to_mono, sine, tone_power};

    #[test]
    fn a_telephone_tone_survives_the_round_trip_through_mp3_with_its_length() {
        let tone = crate::audio::pcm16(&sine(1000.0, 8000, 3.0));
        let mp3 = encode_mono(&tone, 8000).unwrap();
        // 32 kbit/s: about 4 000 bytes a second.
        assert!((10_000..=14_000).contains(&mp3.len()), "{} bytes", mp3.len());
        let (pcm, rate) = decode_to_mono(&mp3).unwrap();
        assert_eq!(rate, OUT_RATE);
        let secs = pcm.len() as f64 / rate as f64;
        assert!((2.9..=3.2).contains(&secs), "{secs} s");
        let on = tone_power(&pcm, rate, 1000.0);
        let off = tone_power(&pcm, rate, 440.0) + tone_power(&pcm, rate, 2500.0);
        assert!(on > 50.0 * off, "the 1 kHz tone is what comes back ({on:.3e} vs {off:.3e})");
    }

    #[test]
    fn silence_and_empty_input_encode() {
        assert!(encode_mono(&[], 8000).is_ok());
        let mp3 = encode_mono(&vec![0; 8000], 8000).unwrap();
        assert!(!mp3.is_empty());
    }
}
