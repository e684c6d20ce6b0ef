"""LogHarbor's test suite. A regular package so ``tests.shipper_support`` wins over any installed
distribution that ships a top-level ``tests`` package of its own (graypy 2.1 does).
"""
