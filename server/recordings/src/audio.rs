//! Greeting audio: whatever the admin uploads (MP3 or WAV, any rate, mono or stereo) becomes what
//! Asterisk plays without transcoding surprises: WAV, 16-bit PCM, mono, 8 kHz. Decoding is
//! symphonia's; the resampler is written here because telephone-band downsampling needs only a
//! short anti-aliasing filter and linear interpolation (no crate adds value for that).

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

pub const TELEPHONE_RATE: u32 = 8000;
/// Longest greeting accepted, in seconds.
pub const MAX_GREETING_SECS: u32 = 120;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("the file is not audio we can read (MP3 or WAV): {0}")]
    Unreadable(String),
    #[error("the greeting is longer than {MAX_GREETING_SECS} s")]
    TooLong,
    #[error("the file holds no sound")]
    Empty,
}

/// Decodes `bytes` (MP3 or WAV) into mono f32 samples and their rate.
pub fn decode(bytes: Vec<u8>) -> Result<(Vec<f32>, u32), AudioError> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let probed = symphonia::default::get_probe()
        .format(&Hint::new(), mss, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(|e| AudioError::Unreadable(e.to_string()))?;
    let mut format = probed.format;
    let track = format.default_track().ok_or_else(|| AudioError::Unreadable("no audio track".into()))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| AudioError::Unreadable(e.to_string()))?;
    let mut rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut out = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(symphonia::core::errors::Error::IoError(_)) => break,
            Err(e) => return Err(AudioError::Unreadable(e.to_string())),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(symphonia::core::errors::Error::DecodeError(_)) => continue,
            Err(e) => return Err(AudioError::Unreadable(e.to_string())),
        };
        let spec = *decoded.spec();
        rate = spec.rate;
        let channels = spec.channels.count().max(1);
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buf.copy_interleaved_ref(decoded);
        for frame in buf.samples().chunks(channels) {
            out.push(frame.iter().sum::<f32>() / channels as f32);
        }
        if rate > 0 && out.len() as u64 > u64::from(MAX_GREETING_SECS + 1) * u64::from(rate) {
            return Err(AudioError::TooLong);
        }
    }
    if out.is_empty() || rate == 0 {
        return Err(AudioError::Empty);
    }
    Ok((out, rate))
}

/// Resamples to `to` Hz: a moving-average low-pass (width = the rate ratio) against aliasing, then
/// linear interpolation.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let ratio = from as f64 / to as f64;
    let filtered: Vec<f32> = if ratio > 1.0 {
        let w = ratio.round().max(1.0) as usize;
        let mut acc = 0.0f32;
        let mut out = Vec::with_capacity(samples.len());
        for i in 0..samples.len() {
            acc += samples[i];
            if i >= w {
                acc -= samples[i - w];
            }
            out.push(acc / w.min(i + 1) as f32);
        }
        out
    } else {
        samples.to_vec()
    };
    let n = ((samples.len() as f64) / ratio).floor() as usize;
    (0..n)
        .map(|i| {
            let pos = i as f64 * ratio;
            let j = pos.floor() as usize;
            let frac = (pos - j as f64) as f32;
            let a = filtered[j.min(filtered.len() - 1)];
            let b = filtered[(j + 1).min(filtered.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

/// Any readable upload → WAV 16-bit mono 8 kHz, and its duration in milliseconds.
pub fn to_telephone_wav(bytes: Vec<u8>) -> Result<(Vec<u8>, u64), AudioError> {
    let (samples, rate) = decode(bytes)?;
    let out = resample(&samples, rate, TELEPHONE_RATE);
    if out.len() > (MAX_GREETING_SECS * TELEPHONE_RATE) as usize {
        return Err(AudioError::TooLong);
    }
    Ok((wav_bytes(&out, TELEPHONE_RATE), out.len() as u64 * 1000 / u64::from(TELEPHONE_RATE)))
}

/// 16-bit mono WAV of `samples` (clipped to [-1, 1]).
pub fn wav_bytes(samples: &[f32], rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).expect("writing to memory");
        for s in samples {
            w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).expect("writing to memory");
        }
        w.finalize().expect("writing to memory");
    }
    cur.into_inner()
}

/// Power of `freq` in 16-bit samples (Goertzel), normalised by length: how tests and the health
/// probe tell which tone a recording holds.
pub fn tone_power(samples: &[i16], rate: u32, freq: f32) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * f64::from(freq) / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s = f64::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len().max(1) as f64
}

/// f32 samples in [-1, 1] → 16-bit PCM (clipped).
pub fn pcm16(samples: &[f32]) -> Vec<i16> {
    samples.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16).collect()
}

/// Decodes `bytes` (MP3 or WAV) into mono 16-bit PCM and its rate.
pub fn decode_to_mono(bytes: &[u8]) -> Result<(Vec<i16>, u32), AudioError> {
    let (samples, rate) = decode(bytes.to_vec())?;
    Ok((pcm16(&samples), rate))
}

/// A call recording as Asterisk stores it (WAV) → mp3 for users, and its duration in milliseconds.
pub fn recording_to_mp3(wav: &[u8]) -> Result<(Vec<u8>, u64), AudioError> {
    let (pcm, rate) = match decode_to_mono(wav) {
        Ok(x) => x,
        // A call recorded for a moment only: a WAV header and no frames.
        Err(AudioError::Empty) => (Vec::new(), TELEPHONE_RATE),
        Err(e) => return Err(e),
    };
    let rate = if rate == 0 { TELEPHONE_RATE } else { rate };
    let mp3 = crate::mp3::encode_mono(&pcm, rate).map_err(|e| AudioError::Unreadable(e.to_string()))?;
    Ok((mp3, pcm.len() as u64 * 1000 / u64::from(rate)))
}

/// `secs` of a sine at `freq` Hz as `rate` Hz samples in [-1, 1] (amplitude 0.37).
pub fn sine(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
    (0..(rate as f32 * secs) as usize)
        .map(|i| (i as f32 * freq * 2.0 * std::f32::consts::PI / rate as f32).sin() * 0.37)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, secs: f32, channels: u16) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cur = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for x in sine(freq, rate, secs) {
            let v = (x * 32767.0) as i16;
            for _ in 0..channels {
                w.write_sample(v).unwrap();
            }
        }
        w.finalize().unwrap();
        cur.into_inner()
    }

    #[test]
    fn a_stereo_48k_tone_becomes_an_8k_mono_wav_with_the_same_tone_and_length() {
        let (wav, ms) = to_telephone_wav(tone(600.0, 48000, 2.0, 2)).unwrap();
        assert!((1990..=2010).contains(&ms), "{ms} ms");
        let mut r = hound::WavReader::new(Cursor::new(wav)).unwrap();
        let spec = r.spec();
        assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 8000, 16));
        let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
        assert!(
            tone_power(&s, 8000, 600.0)
                > 100.0 * (tone_power(&s, 8000, 1000.0) + tone_power(&s, 8000, 300.0))
        );
    }

    #[test]
    fn garbage_and_silence_are_refused_with_a_reason() {
        assert!(matches!(to_telephone_wav(b"not audio at all".to_vec()), Err(AudioError::Unreadable(_))));
        assert!(to_telephone_wav(Vec::new()).is_err());
    }

    #[test]
    fn too_long_greetings_are_refused() {
        assert!(matches!(
            to_telephone_wav(tone(400.0, 8000, (MAX_GREETING_SECS + 5) as f32, 1)),
            Err(AudioError::TooLong)
        ));
    }

    #[test]
    fn resampling_keeps_duration() {
        let x = vec![0.5f32; 44100];
        let y = resample(&x, 44100, 8000);
        assert_eq!(y.len(), 8000);
        assert!(y.iter().all(|v| (v - 0.5).abs() < 1e-3));
    }
}
