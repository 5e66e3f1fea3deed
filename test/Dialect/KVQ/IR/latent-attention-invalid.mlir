// RUN: kvq-opt %s -split-input-file -verify-diagnostics

func.func @rank(%qn: tensor<16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x80xf32>,
                %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{q must have rank 4 ([B, H, Sq, Dn]), got rank 3}}
  %o = kvq.latent_attention q(%qn : tensor<16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @rope_rows(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x4x16xf32>, %kv: tensor<1x1x9x80xf32>,
                     %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{q and q_rope must agree on [B, H, Sq] (3 vs 4)}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x4x16xf32>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @rope_type(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf16>, %kv: tensor<1x1x9x80xf32>,
                     %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{q and q_rope must have the same element type}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf16>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @cache_batch(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<2x1x9x80xf32>,
                       %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{cache batch must match q (2 vs 1)}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<2x1x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @cache_heads(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x2x9x80xf32>,
                       %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{cache must have one shared head (dim 1 = 1), got 2}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x2x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @per_head(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x80xf32>,
                    %wuk: tensor<8x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{w_uk and w_uv must have one matrix per head (16)}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<8x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @uk_rows(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x80xf32>,
                   %wuk: tensor<16x24x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{w_uk rows must be q's head dim Dn (24 vs 32)}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<16x24x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @latent_width(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x80xf32>,
                        %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x32xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{w_uk and w_uv must share the latent width Dc (64 vs 32)}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x32xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @dynamic_latent(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x?xf32>,
                          %wuk: tensor<16x32x?xf32>, %wuv: tensor<16x48x?xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{the latent width Dc (w_uk dim 2) must be static}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x?xf32>)
      w_uk(%wuk : tensor<16x32x?xf32>) w_uv(%wuv : tensor<16x48x?xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @cache_width(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x64xf32>,
                       %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32> {
  // expected-error @+1 {{cache width 64 must be Dc + Dr = 64 + 16}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x64xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x48xf32>
  return %o : tensor<1x16x3x48xf32>
}

// -----

func.func @result_rows(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x80xf32>,
                       %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x2x48xf32> {
  // expected-error @+1 {{result must keep q's [B, H, Sq] (2 vs 3)}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x2x48xf32>
  return %o : tensor<1x16x2x48xf32>
}

// -----

func.func @result_dv(%qn: tensor<1x16x3x32xf32>, %qr: tensor<1x16x3x16xf32>, %kv: tensor<1x1x9x80xf32>,
                     %wuk: tensor<16x32x64xf32>, %wuv: tensor<16x48x64xf32>) -> tensor<1x16x3x32xf32> {
  // expected-error @+1 {{result's last dimension must be w_uv's Dv (32 vs 48)}}
  %o = kvq.latent_attention q(%qn : tensor<1x16x3x32xf32>) q_rope(%qr : tensor<1x16x3x16xf32>) cache(%kv : tensor<1x1x9x80xf32>)
      w_uk(%wuk : tensor<16x32x64xf32>) w_uv(%wuv : tensor<16x48x64xf32>) -> tensor<1x16x3x32xf32>
  return %o : tensor<1x16x3x32xf32>
}
