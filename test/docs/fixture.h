/* Input of tools/docs.sh's self-test (make check-docs): the check must name
 * exactly bgm_fixture_undocumented (no comment) and bgm_fixture_missing (in
 * fixture_symbols.txt, declared nowhere), and pass the others. */
#define BGM_API

/** Documented by its own comment. */
BGM_API int bgm_fixture_documented(int x);

/**
 * One comment for a run of declarations: the second is documented by the
 * first's comment (tools/doxygen_filter.awk).
 */
BGM_API int bgm_fixture_run_first(int x);
BGM_API int bgm_fixture_run_second(int x,
                                   int y);

BGM_API int bgm_fixture_undocumented(int x);
