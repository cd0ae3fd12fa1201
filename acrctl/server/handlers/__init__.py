"""Route handlers: parse, call one backend method, wrap the result in the ARM envelope."""
