"""The batch fakes themselves, where llmcli does not drive them: Gemini's inline mode through its SDK.

llmcli sends Gemini chunks as files (inline results arrive inside the poll's
JSON, all at once); the fake also serves inline batches, and this keeps that
path honest for the day an engine uses it.
"""

from __future__ import annotations

from tests.fakes import gemini_batch_wire


def test_gemini_inline_batch_echoes_metadata_out_of_order():
    from google import genai
    from google.genai import types

    server, fake = gemini_batch_wire.make_server()
    with server:
        client = genai.Client(api_key="k", vertexai=False,
                              http_options=types.HttpOptions(base_url=server.url, api_version="v1"))
        src = [{"contents": [{"role": "user", "parts": [{"text": f"inline {i}" + (" FAILME" if i == 1 else "")}]}],
                "metadata": {"key": f"k{i}"}} for i in range(3)]
        job = client.batches.create(model="gemini-x", src=src, config={"display_name": "llmcli-t-000"})
        assert job.display_name == "llmcli-t-000"
        for _ in range(fake.knobs.polls + 1):
            job = client.batches.get(name=job.name)
        assert job.state.name == "JOB_STATE_SUCCEEDED"
        answers = [(r.metadata["key"], r.response.text if r.response else None, r.error)
                   for r in job.dest.inlined_responses]
        assert [a[0] for a in answers] == ["k2", "k1", "k0"]  # out of order: match by metadata
        assert answers[0][1] == "INLINE 2" and answers[2][1] == "INLINE 0"
        assert answers[1][1] is None and answers[1][2].message == "this text is refused"
        body = fake.creates()[0].json["batch"]
        assert body["inputConfig"]["requests"]["requests"][0]["metadata"] == {"key": "k0"}
