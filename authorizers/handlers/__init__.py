"""Lambda entry points, one module per validator; each is imported only when used."""
