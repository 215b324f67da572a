"""Plain-Python core: dataset model, file-index arithmetic, transfers. No widgets."""
