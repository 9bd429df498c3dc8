"""The OpenAI-compatible client against a scripted local server on 127.0.0.1."""

import time

import pytest

from dsl.diagnostics import PlmrError
from runtime.search.extract import extract_candidate
from runtime.search.llm import ChatClient, LLMConfig

CODE = "kernel id(x: f32[N]) -> f32[N] {\n  y[i] = x[i]\n  return y\n}\n"


def ok(content, reasoning=None, field="reasoning_content"):
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message[field] = reasoning
    return 200, {"model": "m", "choices": [{"message": message, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 11, "completion_tokens": 7}}, {}, 0.0


def client(server, sleeps=None, **overrides):
    config = LLMConfig(server.base, "test-model", **{"backoff_base": 0.01, "deadline": 10.0, **overrides})
    return ChatClient(config, sleep=(sleeps.append if sleeps is not None else time.sleep))


def test_fenced_code_reply_and_usage_are_returned(serve):
    server = serve(ok(f"Here you go:\n```plmr\n{CODE}```"))
    completion = client(server).complete("write an identity kernel")
    assert extract_candidate(completion.text) == CODE
    assert (completion.prompt_tokens, completion.completion_tokens, completion.attempts) == (11, 7, 1)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "test-model"
    assert request["body"]["messages"] == [{"role": "user", "content": "write an identity kernel"}]


def test_reasoning_content_field_is_kept_apart(serve):
    server = serve(ok(f"```plmr\n{CODE}```", reasoning="Let me think."))
    completion = client(server).complete("go")
    assert completion.reasoning == "Let me think."
    assert "think" not in completion.text


def test_reasoning_field_and_think_tags_are_both_separated(serve):
    server = serve(ok(f"<think>try cannon</think>\n```plmr\n{CODE}```", reasoning="plan", field="reasoning"))
    completion = client(server).complete("go")
    assert completion.reasoning == "plan\ntry cannon"
    assert completion.text.startswith("```plmr")


def test_base_url_with_v1_suffix_is_not_doubled(serve):
    server = serve(ok("fine"))
    ChatClient(LLMConfig(server.base + "/v1/", "m")).complete("go")
    assert server.requests[0]["path"] == "/v1/chat/completions"


def test_429_honours_retry_after_then_succeeds(serve):
    server = serve((429, {"error": {"message": "slow down"}}, {"Retry-After": "2"}, 0.0), ok("done"))
    sleeps = []
    completion = client(server, sleeps).complete("go")
    assert (completion.text, completion.attempts, sleeps) == ("done", 2, [2.0])


def test_500_is_retried_with_jittered_backoff(serve):
    server = serve((500, "upstream crashed", {}, 0.0), (503, "busy", {}, 0.0), ok("done"))
    sleeps = []
    completion = client(server, sleeps, backoff_base=1.0).complete("go")
    assert (completion.text, completion.attempts) == ("done", 3)
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_400_is_not_retried_and_shows_the_servers_message(serve):
    server = serve((400, {"error": {"message": "model 'x' not found"}}, {}, 0.0), ok("never"))
    with pytest.raises(PlmrError, match=r"HTTP 400\): model 'x' not found") as caught:
        client(server).complete("go")
    assert len(server.requests) == 1
    assert caught.value.diagnostics[0].code == "E513"


def test_hang_past_the_deadline_is_a_clear_timeout_within_the_deadline(serve):
    status, body, headers, _ = ok("too late")
    server = serve((status, body, headers, 5.0))
    start = time.monotonic()
    with pytest.raises(PlmrError, match="timed out") as caught:
        client(server, deadline=1.0).complete("go")
    assert time.monotonic() - start < 1.5
    assert "\n" not in caught.value.diagnostics[0].message


def test_retries_stop_at_the_deadline(serve):
    server = serve(*[(503, "busy", {"Retry-After": "0.4"}, 0.0)] * 10)
    start = time.monotonic()
    with pytest.raises(PlmrError, match="would pass the deadline"):
        client(server, deadline=1.0).complete("go")
    assert time.monotonic() - start < 1.2
    assert 2 <= len(server.requests) <= 3


def test_dead_endpoint_is_one_clear_line(serve):
    server = serve()
    base = server.base
    server.shutdown()
    server.server_close()
    with pytest.raises(PlmrError, match="cannot reach the LLM endpoint") as caught:
        ChatClient(LLMConfig(base, "m")).complete("go")
    assert "Traceback" not in str(caught.value)
    assert "\n" not in caught.value.diagnostics[0].message


def test_a_url_without_scheme_is_refused_plainly():
    with pytest.raises(PlmrError, match="'localhost:8000' is not an http"):
        ChatClient(LLMConfig("localhost:8000", "m"))


def test_a_dropped_connection_is_retried(serve):
    server = serve((200, "x" * 10, {"Content-Length": "1000"}, 0.0), ok("done"))
    sleeps = []
    completion = client(server, sleeps).complete("go")
    assert (completion.text, completion.attempts, len(sleeps)) == ("done", 2, 1)


def test_ollama_style_error_body_is_shown(serve):
    server = serve((404, {"error": "model \"llama9\" not found, try pulling it first"}, {}, 0.0))
    with pytest.raises(PlmrError, match=r'HTTP 404\): model "llama9" not found'):
        client(server).complete("go")


def test_api_key_comes_from_the_named_environment_variable(serve, monkeypatch):
    server = serve(ok("done"))
    monkeypatch.setenv("PLMR_TEST_KEY", "sekrit")
    client(server, api_key_env="PLMR_TEST_KEY").complete("go")
    assert server.requests[0]["auth"] == "Bearer sekrit"


def test_missing_api_key_variable_is_named(serve, monkeypatch):
    server = serve(ok("done"))
    monkeypatch.delenv("PLMR_TEST_KEY", raising=False)
    with pytest.raises(PlmrError, match="PLMR_TEST_KEY .* is not set"):
        client(server, api_key_env="PLMR_TEST_KEY").complete("go")


def test_non_json_answer_is_a_clear_error(serve):
    server = serve((200, "<html>hello</html>", {}, 0.0))
    with pytest.raises(PlmrError, match="not a JSON object"):
        client(server).complete("go")
