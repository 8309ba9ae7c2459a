"""The composition root: the FastAPI application and the `zaitaku-desk` command, above every other package."""
