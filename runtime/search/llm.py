"""A client for any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama), standard library
only. Retries what is worth retrying (timeouts, 429, 5xx) with jittered exponential backoff inside one
overall deadline; never retries other 4xx; every failure is a one-line PlmrError, never a traceback."""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import random
import socket
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from dsl.diagnostics import error
from runtime.search.extract import split_reasoning

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Where and how to ask; `api_key_env` names the environment variable holding the key."""

    base_url: str
    model: str
    api_key_env: str | None = None
    temperature: float = 0.8
    max_tokens: int = 4096
    request_timeout: float = 300.0
    deadline: float = 900.0
    max_retries: int = 8
    backoff_base: float = 1.0
    backoff_cap: float = 60.0

    @property
    def url(self) -> str:
        base = self.base_url.rstrip("/")
        base = base.removesuffix("/chat/completions").removesuffix("/v1")
        return f"{base}/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class Completion:
    """One answered call: the answer without reasoning, the reasoning, and what it cost."""

    text: str
    reasoning: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    attempts: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


class _Retryable(Exception):
    """A failed attempt worth repeating; `wait` is the server's Retry-After, if it sent one."""

    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


class ChatClient:
    """Sends chat requests; `sleep` and `clock` are injectable so tests need not wait."""

    def __init__(self, config: LLMConfig, *, sleep=time.sleep, clock=time.monotonic,
                 rng: random.Random | None = None):
        if not config.base_url.startswith(("http://", "https://")):
            raise error("E510", f"the LLM endpoint {config.base_url!r} is not an http(s) URL",
                        help="write it in full, e.g. http://127.0.0.1:8000 (vLLM) or http://127.0.0.1:11434 "
                             "(Ollama)")
        self.config, self._sleep, self._clock = config, sleep, clock
        self._rng = rng or random.Random()
        self.calls: list[Completion] = []

    def complete(self, messages: list[dict] | str) -> Completion:
        """Ask once (retrying within the deadline); a str is one user message."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        start = self._clock()
        for attempt in range(1, self.config.max_retries + 2):
            remaining = self.config.deadline - (self._clock() - start)
            if remaining <= 0:
                break
            try:
                body = self._post(messages, min(self.config.request_timeout, remaining))
            except _Retryable as failure:
                self._back_off(failure, attempt, start)
                continue
            completion = _parse_completion(body, attempt, self._clock() - start, self.config.url)
            self._log(completion)
            return completion
        raise error("E512", f"no answer from {self.config.url} within the deadline of "
                    f"{self.config.deadline:g}s", help="raise the deadline or check the server's load")

    def _post(self, messages: list[dict], timeout: float) -> dict:
        request = urllib.request.Request(self.config.url, data=json.dumps(self._payload(messages)).encode(),
                                         headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as refused:
            raise _http_failure(refused, self.config.url) from None
        except (TimeoutError, socket.timeout):
            raise _Retryable(f"timed out after {timeout:.3g}s") from None
        except urllib.error.URLError as unreachable:
            raise _unreachable(unreachable, self.config.url) from None
        except (ConnectionError, http.client.HTTPException) as lost:
            raise _Retryable(f"connection lost ({type(lost).__name__}: {lost})") from None
        return _decode_json(raw, self.config.url)

    def _payload(self, messages: list[dict]) -> dict:
        return {"model": self.config.model, "messages": messages, "temperature": self.config.temperature,
                "max_tokens": self.config.max_tokens, "stream": False}

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env)
            if not key:
                raise error("E511", f"the environment variable {self.config.api_key_env} holding the "
                            "API key is not set", help=f"export {self.config.api_key_env}=<your key>")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _back_off(self, failure: _Retryable, attempt: int, start: float) -> None:
        """Sleep before the next attempt, or give up if the wait would overrun the deadline."""
        if failure.wait is not None:
            wait = failure.wait
        else:
            ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
            wait = ceiling * (0.5 + 0.5 * self._rng.random())
        remaining = self.config.deadline - (self._clock() - start)
        last = attempt > self.config.max_retries
        if last or wait >= remaining:
            why = "retries exhausted" if last else f"the next try (in {wait:.3g}s) would pass the deadline"
            raise error("E512", f"{self.config.url} failed after {attempt} attempt(s): {failure} ({why})",
                        help="check the server, or raise --deadline / retries")
        log.info("LLM attempt %d failed (%s); retrying in %.2fs", attempt, failure, wait)
        self._sleep(wait)

    def _log(self, completion: Completion) -> None:
        self.calls.append(completion)
        log.info("LLM call: %s prompt + %s completion tokens, %d attempt(s), %.2fs",
                 completion.prompt_tokens, completion.completion_tokens, completion.attempts,
                 completion.seconds)


def _http_failure(refused: urllib.error.HTTPError, url: str) -> Exception:
    message = _server_message(refused.read() if refused.fp else b"") or refused.reason
    if refused.code == 429 or refused.code >= 500:
        return _Retryable(f"HTTP {refused.code}: {message}", _retry_after(refused.headers.get("Retry-After")))
    return error("E513", f"{url} refused the request (HTTP {refused.code}): {message}",
                 help="check the model name, API key and request limits; this is not retried")


def _server_message(raw: bytes) -> str:
    """The error text of an OpenAI-style, Ollama-style or plain-text error body, on one line."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300]
    err = body.get("error", body.get("detail", body)) if isinstance(body, dict) else body
    if isinstance(err, dict):
        err = err.get("message", err)
    return " ".join(str(err).split())[:300]


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _unreachable(failure: urllib.error.URLError, url: str) -> Exception:
    if isinstance(failure.reason, (TimeoutError, socket.timeout)):
        return _Retryable("timed out while connecting")
    reason = getattr(failure.reason, "strerror", None) or str(failure.reason)
    return error("E510", f"cannot reach the LLM endpoint {url}: {reason}",
                 help="is the server running, and is --llm-url right (e.g. http://127.0.0.1:8000)?")


def _decode_json(raw: bytes, url: str) -> dict:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error("E514", f"{url} answered with something that is not a JSON object: "
                    f"{raw[:120].decode('utf-8', 'replace')!r}",
                    help="point --llm-url at an OpenAI-compatible server")
    return body


def _parse_completion(body: dict, attempts: int, seconds: float, url: str) -> Completion:
    try:
        choice = body["choices"][0]
        message = choice.get("message") or {}
    except (KeyError, IndexError, TypeError):
        raise error("E514", f"{url} answered without choices[0].message: {str(body)[:160]}",
                    help="point --llm-url at an OpenAI-compatible chat endpoint") from None
    answer, tagged = split_reasoning(message.get("content") or "")
    fielded = message.get("reasoning_content") or message.get("reasoning") or ""
    reasoning = "\n".join(r for r in (fielded.strip(), tagged) if r)
    usage = body.get("usage") or {}
    return Completion(answer, reasoning, body.get("model", ""), choice.get("finish_reason"),
                      usage.get("prompt_tokens"), usage.get("completion_tokens"), attempts, seconds)
