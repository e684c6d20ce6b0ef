"""Test support for the shipper: a real HTTP gateway stand-in and file-writing helpers."""
