"""Analytics: calendar, the Parquet snapshot of the facts, and the engines that read it."""
