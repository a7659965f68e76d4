"""companies"""
