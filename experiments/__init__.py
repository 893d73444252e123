"""The protocol files, installed as ``pamdp_bench.protocol_files`` (read through
``importlib.resources`` by ``pamdp_bench.protocols``), so a wheel carries the same files as a
checkout's ``experiments/``."""
