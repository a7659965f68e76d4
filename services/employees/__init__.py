"""employees"""
