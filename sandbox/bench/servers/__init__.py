"""The processes a bench run measures against, each run as `python -m`: the bare Litestar
app (`hello`), the thinnest app doing the API's database work (`ceiling`) and the
merchants' webhook receiver (`receiver`). They may import `harness` only."""
