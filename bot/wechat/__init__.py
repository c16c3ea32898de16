"""WeChat platform edges: callback crypto and the outbound API client."""
