/* ROUGE-1/2/L (lib/eval/rouge.c).  Expected numbers come from the twin's rouge() (shared/peer/
 * torch_train.py, == rouge_score RougeScorer without stemmer) on the same input; on the development
 * machine the C values were bit-identical, here they are held to 1e-12 relative. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "eval/rouge.h"

static const char *const arxiv_hyp[] = {
    "Multi-Higgs U(1) Lattice Gauge Theory in Three Dimensions Multi-Higgs U(1) Lattice Gauge Theory",
    "VISReg: Variance-Invariance-Sketching Regularization for JEPA training VISReg: Variance-Invariance-Sketching "
    "Regularization for JEPA training",
    "",
    "VISReg: Variance-Invariance-Sketching Regularization for JEPA training",
    "feedback-induced performance decline in llm-based decision-making",
    "adapting a vector-symbolic memory for lisp act-r",
    "",
    "Code Agent Harness",
    "VISReg: Variance-Invariance-Sketching Regularization for JEPA training",
    "Fully Procedural Synthetic Data from Simple Rules for Multi-View Stereo",
    "Learning DINeMo: Neural Mesh Models with no 3D Annotations",
    "",
    "SciCUEval: A Dataset for Scientific Context in Language Models",
    "SFDemorpher: Generalizable Face Demorphing for Operational Morphing Attack Detection SFDemorpher: Generalizable",
    "Learning Contrastive Multimodal with Modality Dropout for and",
    "SFDemorpher: Generalizable Face Demorphing for Operational Morphing Attack Detection",
};
static const char *const arxiv_ref[] = {
    "Multi-Higgs U(1) Lattice Gauge Theory in Three Dimensions",
    "VISReg: Variance-Invariance-Sketching Regularization for JEPA training",
    "Refining Neural Activation Patterns for Layer-Level Concept Discovery in Neural Network-Based Receivers",
    "GANime: Generating Anime and Manga Character Drawings from Sketches with Deep Learning",
    "Feedback-Induced Performance Decline in LLM-Based Decision-Making",
    "Adapting A Vector-Symbolic Memory for Lisp ACT-R",
    "Hydrogen 2p--2s transition: signals from the epochs of recombination and reionization",
    "Code as Agent Harness",
    "Neural Subgraph Isomorphism Counting",
    "Fully Procedural Synthetic Data from Simple Rules for Multi-View Stereo",
    "DINeMo: Learning Neural Mesh Models with no 3D Annotations",
    "Contextual Drag: How Errors in the Context Affect LLM Reasoning",
    "SciCUEval: A Comprehensive Dataset for Evaluating Scientific Context Understanding in Large Language Models",
    "SFDemorpher: Generalizable Face Demorphing for Operational Morphing Attack Detection",
    "Learning Contrastive Multimodal Fusion with Improved Modality Dropout for Disease Detection and Prediction",
    "A Hyperspectral Imaging Guided Robotic Grasping System",
};
/* twin: rouge(arxiv_hyp, arxiv_ref) */
static const double arxiv_rouge[3] = {54.653980278980285, 45.10190723019671, 53.95953583453584};

static void assert_close(double got, double want, const char *what)
{
    cr_assert(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want)), "%s: got %.17g, want %.17g", what, got, want);
}

static ak_rouge_scores score(const char *const *h, const char *const *r, size_t n)
{
    ak_rouge_scores s;
    ak_err err = {{0}};
    cr_assert_eq(ak_rouge(h, r, n, &s, &err), 0, "%s", err.msg);
    cr_assert_eq(s.n, n);
    return s;
}

Test(eval_rouge, hand_checked_prefix)
{
    /* 3 of 6 unigrams: P 1, R 1/2, F 2/3; bigrams 2 of 5: P 1, R 2/5, F 4/7; LCS 3 = ROUGE-1 */
    const char *h = "the cat sat", *r = "the cat sat on the mat";
    ak_rouge_scores s = score(&h, &r, 1);
    assert_close(s.r1.p, 100.0, "r1 p");
    assert_close(s.r1.r, 50.0, "r1 r");
    assert_close(s.r1.f, 66.66666666666666, "r1 f"); /* twin */
    assert_close(s.r2.r, 40.0, "r2 r");
    assert_close(s.r2.f, 57.14285714285715, "r2 f");
    assert_close(s.rl.f, 66.66666666666666, "rl f");
}

Test(eval_rouge, clipped_counts_and_lcs)
{
    const char *h = "the the the", *r = "the cat the"; /* twin: 66.67, 0, 66.67 */
    ak_rouge_scores s = score(&h, &r, 1);
    assert_close(s.r1.f, 66.66666666666666, "r1");
    assert_close(s.r2.f, 0.0, "r2");
    assert_close(s.rl.f, 66.66666666666666, "rl");
    const char *hs[] = {"a b", "", "c d e"}, *rs[] = {"a b", "x", "e d c"}; /* empty hyp counts as 0 */
    s = score(hs, rs, 3);
    assert_close(s.r1.f, 66.66666666666667, "r1");
    assert_close(s.r2.f, 33.333333333333336, "r2");
    assert_close(s.rl.f, 44.444444444444436, "rl");
}

Test(eval_rouge, tokens_are_lowercased_ascii_alphanumerics)
{
    /* twin: rouge_tokenize("Über-Größe 2024!") == ["ber", "gr", "e", "2024"]; U+0130 lowers to
     * "i\u0307" and the Kelvin sign to "k" */
    const char *h = "Über-Größe 2024! İstanbul \xE2\x84\xAA"
                    "elvin ΣΑ x_y",
               *r = "ber GR e 2024 i stanbul kelvin x y";
    ak_rouge_scores s = score(&h, &r, 1);
    assert_close(s.r1.f, 100.0, "r1");
    assert_close(s.r2.f, 100.0, "r2");
    assert_close(s.rl.f, 100.0, "rl");
}

Test(eval_rouge, corpus_scores_match_the_twin)
{
    ak_rouge_scores s = score(arxiv_hyp, arxiv_ref, sizeof arxiv_hyp / sizeof *arxiv_hyp);
    assert_close(s.r1.f, arxiv_rouge[0], "rouge1");
    assert_close(s.r2.f, arxiv_rouge[1], "rouge2");
    assert_close(s.rl.f, arxiv_rouge[2], "rougeL");
}

Test(eval_rouge, empty_corpus_and_invalid_utf8)
{
    ak_rouge_scores s;
    ak_err err = {{0}};
    cr_assert_eq(ak_rouge(NULL, NULL, 0, &s, &err), 0);
    cr_assert_eq(s.rl.f, 0.0);
    const char *h[] = {"ok", "fine"}, *r[] = {"ok", "b\xFF"};
    cr_assert_eq(ak_rouge(h, r, 2, &s, &err), -1);
    cr_assert(strstr(err.msg, "reference 1: invalid UTF-8 at byte 1"), "%s", err.msg);
}
