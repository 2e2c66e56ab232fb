"""llmcli: rewrite text with an LLM from the shell."""

__version__ = "0.1.0"
