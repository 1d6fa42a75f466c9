"""Bitstreams: H.264/HEVC NAL units, MPEG-TS packets and splicing pieces of a smart cut."""
