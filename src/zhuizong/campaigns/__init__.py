"""Sales campaigns (方案): definitions (``config``), standings (``engine``), scoped services and
close-out (``service``), honor rolls (``honors``) and tracking signals (``signals``).
See ``docs/campaigns.md``."""
