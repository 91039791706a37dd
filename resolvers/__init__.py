"""Entrypoints: GraphQL types and resolvers, Lambda event adapters, identity, CLI."""
