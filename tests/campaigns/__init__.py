"""Tests of the campaign engine (方案): standings, close-out, honor rolls, signals."""
