/*
 * Winograd F(2x2, 3x3) convolution of NHWC images, stride 1, for
 * inference: each 2x2 block of output pixels (a tile) from a 4x4 block of
 * input through 16 products of (tiles x C) by (C x F) matrices, 4 multiplies
 * per output instead of 9 (2.25x fewer; 1.7x at 7x7, where tiles overhang).
 * The transforms only add and subtract, so results agree with the direct
 * convolution to float rounding.
 */
#ifndef BGM_KERNELS_WINOGRAD_H
#define BGM_KERNELS_WINOGRAD_H

#include "gemm_own.h"
#include "im2col.h"

/* Whether the transforms run on this path: AVX-512 or AVX2 (isa.h) with
 * the own SGEMM kernels in use for the products. */
int bgm__winograd_available(void);

/*
 * The transforms of one tile (or of a kernel) on one instruction-set path,
 * written once for every vector width (winograd_tiles.h). Channels
 * (filters) are innermost and contiguous, any count from 1.
 *
 * F(2x2, 3x3), m = 2, and F(4x4, 3x3), m = 4, with s = m + 2:
 *   input: v[e * vs + ch] = (B^T d B)[e] for the s x s input block d whose
 *     element (i, j) is src[i * s + j][ch]
 *   output: the m x m outputs of one tile from m[e * ms + fo], rows < nr
 *     and columns < nc of them: out[a * m + b] is where output (a, b)
 *     goes, res[a * m + b] its residual (res NULL: none), the bias added
 *     before it (NULL: none) and ReLU after when relu
 *   grad: m[e * ms + fo] = (A dy A^T)[e] for the m x m output gradient
 *     dy of one tile, dy[a * m + b] its element (a, b), NULL where the
 *     tile overhangs the output (zero)
 *   kernel: u (s * s, c, f) = G w G^T per (channel, filter) of w (3, 3, c,
 *     f), cf = c * f, for the pairs [begin, end) of the cf only
 *   kernel_grad: gw (3, 3, c, f) += G^T du G per pair, du (s * s, c, f)
 *     the gradient with respect to u summed over the images, for the pairs
 *     [begin, end) only
 */
/* A kernel transform of the (channel, filter) pairs [begin, end) of cf (see
 * kernel below). */
typedef void (*bgm__winograd_kernel_fn)(const float *w, int64_t cf, int64_t begin, int64_t end,
                                        float *u);
/* A kernel gradient (see kernel_grad below) of the pairs [begin, end). */
typedef void (*bgm__winograd_kernel_grad_fn)(const float *du, int64_t cf, int64_t begin,
                                             int64_t end, float *gw);

typedef struct bgm__winograd_path {
    void (*input2)(const float *const *src, int64_t c, float *v, int64_t vs);
    void (*output2)(const float *m, int64_t ms, int64_t f, int nr, int nc, float *const *out,
                    const float *const *res, const float *bias, int relu);
    void (*grad2)(const float *const *dy, int64_t f, float *m, int64_t ms);
    bgm__winograd_kernel_fn kernel2;
    bgm__winograd_kernel_grad_fn kernel_grad2;
    void (*input4)(const float *const *src, int64_t c, float *v, int64_t vs);
    void (*output4)(const float *m, int64_t ms, int64_t f, int nr, int nc, float *const *out,
                    const float *const *res, const float *bias, int relu);
    void (*grad4)(const float *const *dy, int64_t f, float *m, int64_t ms);
    bgm__winograd_kernel_fn kernel4;
    bgm__winograd_kernel_grad_fn kernel_grad4;
    /* input4, output4 and grad4 for a block wholly inside the image (the
     * output): element (i, j) at base[i * rs + j * c] (f), no table of
     * pointers to build and read */
    void (*input4_grid)(const float *base, int64_t rs, int64_t c, float *v, int64_t vs);
    void (*output4_grid)(const float *m, int64_t ms, int64_t f, float *out, const float *res,
                         int64_t rs, const float *bias, int relu);
    void (*grad4_grid)(const float *dy, int64_t rs, int64_t f, float *m, int64_t ms);
} bgm__winograd_path;

#if defined(__x86_64__) && defined(__GNUC__)
/* The paths' tables (winograd_avx512.c, winograd_avx2.c): call one only
 * where the CPU has its instructions. */
extern const bgm__winograd_path bgm__winograd_avx512;
extern const bgm__winograd_path bgm__winograd_avx2;
#endif

/* The table of the path in use (isa.h); NULL where none has transforms
 * (the generic path of an x86 build). Elsewhere than x86, plain C
 * transforms of F(2x2, 3x3) only (input4, output4, kernel4 NULL). */
const bgm__winograd_path *bgm__winograd_path_in_use(void);

/* Floats of the transformed kernel of F(m x m, 3x3), m 2 or 4:
 * (m + 2)^2 * c * f. */
int64_t bgm__winograd_kernel_floats(int64_t c, int64_t f, int m);

/* u (16, c, f) = G w G^T per (channel, filter) of w (3, 3, c, f); over the
 * pool when it is free. */
void bgm__winograd_kernel(const float *w, int64_t c, int64_t f, float *u);

/* The same with a path's kernel2 or kernel4 (bgm__winograd4_kernel). */
void bgm__winograd_kernel_with(bgm__winograd_kernel_fn fn, const float *w, int64_t c, int64_t f,
                               float *u);

/* How many images to run together under window g: enough that their
 * tiles fill the products' rows (1 for images of 96 tiles or more). */
int64_t bgm__winograd_group(const bgm__window *g, int m);

/* Floats of the workspace of bgm__winograd_images and
 * bgm__winograd_kernel_grad_images for count images under window g (f
 * filters). */
int64_t bgm__winograd_ws_floats(const bgm__window *g, int64_t f, int64_t count, int m);

/* For the transforms of both sizes (side 4 or 6): src[side * side] = where
 * each element of the side x side input block at (y0, x0) of the output
 * grid lies in the image img under g, zero (c floats of 0) where the block
 * leaves it. */
void bgm__winograd_tile_sources(const bgm__window *g, const float *img, int64_t y0,
                                int64_t x0, int side, const float *zero, const float **src);

/* out[m * m] (m 2 or 4) = where each output of the m x m tile at (y0, x0) of image at
 * (its first pixel's index) goes in y (f filters), res[] its residual in
 * ep (left unwritten without one); *nc and the result: the columns and rows of the
 * tile inside the output (entries beyond them point at valid pixels but
 * must not be written). */
int bgm__winograd_tile_outputs(const bgm__window *g, int64_t f, int m, int64_t at, int64_t y0,
                               int64_t x0, float *y, const bgm__gemm_epilogue *ep,
                               float **out, const float **res, int *nc);

/* dy[m * m] (m 2 or 4) = where each output gradient of the m x m tile at
 * (y0, x0) of image n lies in gy (count, g->oh, g->ow, f), NULL where the
 * tile overhangs the output. */
void bgm__winograd_tile_grads(const bgm__window *g, int64_t f, int m, int64_t n, int64_t y0,
                              int64_t x0, const float *gy, const float **dy);

/*
 * y (count, g->oh, g->ow, f) = the convolution of the count images x
 * (count, g->h, g->w, g->c) under g (3x3, stride 1, any padding) with the
 * kernel u transformed by bgm__winograd_kernel, then ep applied (bias,
 * residual of y's shape with row stride f, ReLU; ep NULL: none); ep's
 * residual may be y itself (y += conv). ws: bgm__winograd_ws_floats
 * floats. Single-threaded.
 */
void bgm__winograd_images(const bgm__window *g, int64_t f, int64_t count, const float *x,
                          const float *u, const bgm__gemm_epilogue *ep, float *y, float *ws);

/*
 * The kernel gradient of that convolution: du (16, c, f) += the gradient
 * with respect to the transformed kernel u, given the count images x and
 * their output gradient gy (count, g->oh, g->ow, f), the tiles summed in
 * order. ws as above.
 */
void bgm__winograd_kernel_grad_images(const bgm__window *g, int64_t f, int64_t count,
                                      const float *x, const float *gy, float *du, float *ws);


/* gw += the kernel gradient of F(m x m, 3x3) (fn, a path's kernel_grad2
 * or kernel_grad4 for m 2 or 4) from the slots
 * sums du[s] of the transformed kernel's gradient, s < slots, each
 * bgm__winograd_kernel_floats(c, f, m) floats: they are added into du[0]
 * in slot order first. Over the pool when it is free. */
void bgm__winograd_kernel_grad_slots(bgm__winograd_kernel_grad_fn fn, int m, float *du,
                                     int64_t slots, int64_t c, int64_t f, float *gw);

/*
 * F(4x4, 3x3) (winograd4.c): each 4x4 block of outputs from a 6x6 block of
 * input through 36 products, 2.25 multiplies per output. The same
 * interface as F(2x2, 3x3) above, with u and du (36, c, f); runs where
 * bgm__winograd4_available() (the AVX-512 and AVX2 paths).
 */
int bgm__winograd4_available(void);
void bgm__winograd4_kernel(const float *w, int64_t c, int64_t f, float *u);
void bgm__winograd4_images(const bgm__window *g, int64_t f, int64_t count, const float *x,
                           const float *u, const bgm__gemm_epilogue *ep, float *y, float *ws);
void bgm__winograd4_kernel_grad_images(const bgm__window *g, int64_t f, int64_t count,
                                       const float *x, const float *gy, float *du, float *ws);

#endif
