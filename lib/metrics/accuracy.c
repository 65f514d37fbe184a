/* Counting correct predictions: accuracy and top-k accuracy. */
#include "accuracy.h"

int64_t bgm__count_correct(const bgm__labels *t, const bgm__labels *p)
{
    int64_t i, hits = 0;
    for (i = 0; i < t->n; i++)
        hits += bgm__label_at(t, i) == bgm__label_at(p, i);
    return hits;
}

/* Rank of class c in row (0 = best): the classes scored higher, plus the
 * tied ones with a larger id, as sklearn's reversed stable argsort orders them. */
static int64_t rank_of(const float *row, int64_t width, int64_t c)
{
    int64_t j, rank = 0;
    for (j = 0; j < width; j++)
        rank += row[j] > row[c] || (row[j] == row[c] && j > c);
    return rank;
}

int bgm__count_top_k_row(const bgm__labels *t, const float *scores, int64_t width, int k,
                         int64_t i)
{
    return rank_of(scores + i * width, width, bgm__label_at(t, i)) < k;
}

int64_t bgm__count_top_k(const bgm__labels *t, const float *scores, int64_t width, int k)
{
    int64_t i, hits = 0;
    for (i = 0; i < t->n; i++)
        hits += bgm__count_top_k_row(t, scores, width, k, i);
    return hits;
}
