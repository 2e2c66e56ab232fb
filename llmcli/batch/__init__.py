"""``llmcli batch``: the single-mode flow, many times, concurrently, with files instead of a terminal.

plan (which files, where answers go) -> units (what of each file is sent) ->
work (one file: calls with retries and fallbacks, atomic write, journal) ->
runner (threads, Ctrl-C) -> progress (stderr) and the report.
"""
