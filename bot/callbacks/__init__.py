"""The WeChat callback endpoints: verify, decrypt, parse, dedupe, dispatch, reply."""
