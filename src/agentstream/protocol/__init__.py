"""The event model, its JSON codec and the wire formats (dialects). Pure: no I/O."""
