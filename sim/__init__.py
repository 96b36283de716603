"""funnelsim engine: simulate B2B marketing and sales funnels under alternative policies."""

__version__ = "0.1.0"
