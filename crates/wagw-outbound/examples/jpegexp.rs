use std::time::Instant;
use fast_image_resize as fr;
fn enc(rgb: &[u8], w: u32, h: u32, q: u8, table: jpeg_encoder::QuantizationTableType, opt: bool) -> Vec<u8> { enc2(rgb,w,h,q,table,opt,false) }
fn enc2(rgb: &[u8], w: u32, h: u32, q: u8, table: jpeg_encoder::QuantizationTableType, opt: bool, prog: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, q);
    e.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    e.set_quantization_tables(table.clone(), table);
    e.set_optimized_huffman_tables(opt); e.set_progressive(prog);
    e.encode(rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}
fn resize(rgb: Vec<u8>, w: u32, h: u32, tw: u32, th: u32, alg: fr::ResizeAlg) -> Vec<u8> {
    let src = fr::images::Image::from_vec_u8(w, h, rgb, fr::PixelType::U8x3).unwrap();
    let mut dst = fr::images::Image::new(tw, th, fr::PixelType::U8x3);
    let mut r = fr::Resizer::new();
    r.resize(&src, &mut dst, &fr::ResizeOptions::new().resize_alg(alg)).unwrap();
    dst.into_vec()
}
fn main() {
    let data = std::fs::read("/work/shared/bench-data/photo12mp.jpg").unwrap();
    for _ in 0..2 {
    let t = Instant::now();
    let mut d = zune_jpeg::JpegDecoder::new(zune_core::bytestream::ZCursor::new(&data));
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    let t_dec = t.elapsed();
    println!("zune decode {}x{} {:?}", info.width, info.height, t_dec);
    let t = Instant::now();
    let mut jd = jpeg_decoder::Decoder::new(&data[..]);
    let sz = jd.scale(2048, 2048).unwrap();
    let _p = jd.decode().unwrap();
    println!("jpeg-decoder scale-> {:?} {:?}", sz, t.elapsed());
    let t = Instant::now();
    let mut jd = jpeg_decoder::Decoder::new(&data[..]);
    let sz = jd.scale(2000, 2000).unwrap();
    let half = jd.decode().unwrap();
    println!("jpeg-decoder half-> {:?} {:?}", sz, t.elapsed());
    for alg in [fr::ResizeAlg::Convolution(fr::FilterType::Hamming), fr::ResizeAlg::Convolution(fr::FilterType::Mitchell), fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom), fr::ResizeAlg::Convolution(fr::FilterType::Gaussian)] {
        let t = Instant::now();
        let small = resize(px.clone(), 4000, 3000, 2048, 1536, alg);
        let t_rs = t.elapsed();
        for (name, table) in [("annexk", jpeg_encoder::QuantizationTableType::Default), ("imagick", jpeg_encoder::QuantizationTableType::ImageMagick)] {
            for opt in [false, true] {
                let t = Instant::now();
                let o = enc(&small, 2048, 1536, 80, table.clone(), opt);
                println!("{alg:?} resize {t_rs:?} enc {name} opt={opt} {:?} size {} KB", t.elapsed(), o.len() / 1000);
                if opt && name=="annexk" {std::fs::write(format!("/tmp/out_{}.jpg", t_rs.as_micros()), &o).unwrap();}
            }
        }
    }
    let small = resize(px.clone(), 4000, 3000, 2048, 1536, fr::ResizeAlg::Convolution(fr::FilterType::Bilinear));
    for t2 in [jpeg_encoder::QuantizationTableType::ImageMagick, jpeg_encoder::QuantizationTableType::Default, jpeg_encoder::QuantizationTableType::CustomMsSsim, jpeg_encoder::QuantizationTableType::CustomPsnrHvs] {
    let t = Instant::now();
    let o = enc2(&small, 2048, 1536, 80, t2.clone(), true, true);
    println!("prog {t2:?} enc {:?} {} KB", t.elapsed(), o.len()/1000);
    }
    let t = Instant::now();
    let o = enc(&half, 2000, 1500, 80, jpeg_encoder::QuantizationTableType::Default, true);
    println!("half enc {:?} {} KB", t.elapsed(), o.len()/1000);
    }
}
