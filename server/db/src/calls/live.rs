//! Writes of the call actors: a call record opened, its phases, its end.
