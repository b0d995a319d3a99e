"""Outpost's construct library. (Not a top-level ``constructs`` package: that would shadow the
``constructs`` library aws-cdk-lib imports.)"""
