"""Extraction of the program from replies as LLMs write them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.search.extract import NoCandidateError, extract_candidate, split_reasoning

KERNEL = "kernel dot(a: f32[N], b: f32[N]) -> f32 {\n  s = sum(i) a[i] * b[i]\n  return s\n}\n"
LAYOUT = "layout g for gemm on wse2[32 x 32] {\n  algorithm = cannon\n}\n"


def test_bare_source_is_taken_whole():
    assert extract_candidate(KERNEL) == KERNEL
    assert extract_candidate("\ufeff" + KERNEL.replace("\n", "\r\n")) == KERNEL


def test_bare_source_after_comments_and_blank_lines():
    reply = "\n\n# a faster layout\n" + LAYOUT
    assert extract_candidate(reply) == "# a faster layout\n" + LAYOUT


def test_prose_around_one_fence():
    reply = f"Here is a faster version:\n\n```plmr\n{KERNEL}```\n\nIt fuses the reduction."
    assert extract_candidate(reply) == KERNEL


def test_plmr_tagged_block_wins_over_later_untagged_block():
    reply = f"```plmr\n{KERNEL}```\nRun it with:\n```\nplmr run dot.plmr\n```\n"
    assert extract_candidate(reply) == KERNEL


def test_last_block_when_none_is_tagged():
    reply = f"First try:\n```\n{LAYOUT}```\nBetter:\n```text\n{KERNEL}```\n"
    assert extract_candidate(reply) == KERNEL


def test_last_of_several_plmr_blocks():
    reply = f"Draft:\n```plmr\n{LAYOUT}```\nFinal:\n```plmr\n{KERNEL}```\nDone."
    assert extract_candidate(reply) == KERNEL


def test_think_block_with_code_inside_is_ignored():
    reply = f"<think>maybe\n```plmr\n{LAYOUT}```\nno.</think>\n```plmr\n{KERNEL}```"
    assert extract_candidate(reply) == KERNEL


def test_missing_think_opener_drops_the_reasoning_before_the_closer():
    reply = f"I should use cannon.\n```plmr\n{LAYOUT}```\n</think>\n```plmr\n{KERNEL}```"
    assert extract_candidate(reply) == KERNEL


def test_reply_cut_off_while_thinking_keeps_only_the_text_before():
    assert extract_candidate(f"```plmr\n{KERNEL}```\n<think>now let me try ```plmr\n{LAYOUT}") == KERNEL
    with pytest.raises(NoCandidateError, match="holds no program"):
        extract_candidate(f"<think>let me think about ```plmr\n{LAYOUT}")


def test_unterminated_fence_runs_to_the_end():
    reply = f"Sure:\n```plmr\n{KERNEL}"
    assert extract_candidate(reply) == KERNEL


def test_crlf_and_tilde_fences():
    reply = f"Here:\r\n~~~plmr\r\n{KERNEL.replace(chr(10), chr(13) + chr(10))}~~~\r\nbye\r\n"
    assert extract_candidate(reply) == KERNEL


def test_longer_fence_holds_a_shorter_one():
    inner = "# example\n```\nnot the end\n```\n"
    reply = f"````plmr\n{KERNEL}{inner}````\n"
    assert extract_candidate(reply) == KERNEL + inner


def test_unfenced_program_after_prose_is_found_and_trailing_prose_cut():
    reply = f"Here is my answer.\n\n{LAYOUT}\nThis uses Cannon's algorithm."
    assert extract_candidate(reply) == LAYOUT


def test_prose_without_code_fails_at_extract_with_advice():
    with pytest.raises(NoCandidateError, match="holds no program") as caught:
        extract_candidate("I think Cannon's algorithm would be faster because the kernel is big.")
    verdict = caught.value.verdict
    assert (verdict.ok, verdict.stage) == (False, "extract")
    assert "fenced ```plmr block" in verdict.feedback


def test_empty_fenced_block_fails_with_its_own_message():
    with pytest.raises(NoCandidateError, match="block in the reply is empty"):
        extract_candidate("Here:\n```plmr\n\n```\n")


def test_split_reasoning_separates_think_text():
    answer, reasoning = split_reasoning("<think>\nplan A\n</think>\nthe answer")
    assert (answer, reasoning) == ("the answer", "plan A")


@given(st.text(alphabet=st.characters(blacklist_characters="`~<>"), max_size=200))
def test_any_prose_around_a_fenced_block_yields_the_block(prose):
    reply = f"{prose}\n```plmr\n{KERNEL}```\n{prose}"
    assert extract_candidate(reply) == KERNEL


@given(st.text(max_size=300))
def test_extraction_never_raises_anything_but_no_candidate(reply):
    try:
        assert isinstance(extract_candidate(reply), str)
    except NoCandidateError as err:
        assert err.verdict.stage == "extract"
